"""Fitting, evaluating and choosing churn models. Pure: no files, no MLflow, no clock."""

from models import baselines
from models.bundle import ModelBundle
from models.champion import Decision, decide
from models.config import LightGBMParams, TrainingConfig
from models.metrics import classification_metrics, is_better
from models.training import FitResult, Split, fit, split_rows, validation_window

__churn_pipeline__ = True  # this project's package, not another of the same name (pipeline/installation.py)

__all__ = ["baselines", "ModelBundle", "Decision", "decide", "LightGBMParams", "TrainingConfig",
           "classification_metrics",
           "is_better", "FitResult", "Split", "fit", "split_rows", "validation_window"]
