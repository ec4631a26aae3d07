"""Fitting, evaluating and choosing churn models. Pure: no files, no MLflow, no clock."""

import os

# LightGBM's OpenMP threads spin while they wait; when another process holds a core that turns
# into a fivefold slowdown (measured here: 147 s against 29 s). Passive waiting avoids it. It
# must be set before the OpenMP runtime starts, so before lightgbm is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from models import baselines  # noqa: E402
from models.bundle import ModelBundle  # noqa: E402
from models.champion import Decision, decide
from models.config import LightGBMParams, TrainingConfig
from models.metrics import classification_metrics, is_better
from models.training import FitResult, Split, fit, split_rows, validation_window

__all__ = ["baselines", "ModelBundle", "Decision", "decide", "LightGBMParams", "TrainingConfig", "classification_metrics",
           "is_better", "FitResult", "Split", "fit", "split_rows", "validation_window"]
