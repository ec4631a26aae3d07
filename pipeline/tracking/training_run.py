"""A training run in MLflow: parameters, validation figures, baselines as nested runs, the
artifacts a data scientist opens (plots, evaluation page, feature catalogue, predictions)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

from features.catalogue import catalogue_markdown, catalogue_records
from models.bundle import ModelBundle
from models.training import FitResult
from models.validation import ValidationReport
from pipeline.config import AppConfig
from pipeline.data.location import data_location
from pipeline.data.totals import rows_summary
from pipeline.engines import TrainingData
from pipeline.tracking import registry

# the booster's validation loss after each boosting round: a curve in the MLflow UI (one step a round)
CURVE_METRIC = "validation_logloss_by_round"


def log_training_run(experiment_id: str, config: AppConfig, training: TrainingData, result: FitResult,
                     bundle: ModelBundle, report: ValidationReport, pictures: dict[str, bytes], page: str,
                     notes: list[str], data: Any) -> None:
    """Everything of the fit into the active run (the model itself is logged by the caller)."""
    tc, spec, plan = config.training, training.spec, training.plan
    mlflow.log_params({**{f"lgbm_{k}": v for k, v in tc.lightgbm.model_dump().items()},
                       "horizon_days": tc.horizon_days, "until": bundle.info["until"], "n_cutoffs": len(plan.cutoffs),
                       "cutoff_anchor": plan.anchor, "validation_kind": result.split.kind,
                       "validation_window": ",".join(result.split.window), "calibration": tc.calibration,
                       "best_iteration": result.best_iteration, "n_features": len(spec.feature_names),
                       "training_rows": training.total_rows, "seed": tc.seed, "engine": config.engine.kind,
                       "linear_weight": 0.0 if result.linear is None else result.linear.weight,
                       "activity_forecasts": 0 if result.forecast is None else len(result.forecast.sources)})
    mlflow.log_metrics({f"validation_{k}": v for k, v in report.metrics.items()})
    log_curve(CURVE_METRIC, result.curve)
    mlflow.set_tags({"input_fingerprint": training.loaded.fingerprint, "code_version": code_version(),
                     "data_folder": data_location(data), "kind": "training",
                     "beats_baselines": str(report.beats_baselines).lower()})
    for name, figures in report.baselines.items():
        with mlflow.start_run(run_name=f"baseline: {name}", nested=True, experiment_id=experiment_id):
            mlflow.set_tags({"kind": "baseline", "baseline": name})
            mlflow.log_metrics({f"validation_{k}": v for k, v in figures.items()})
    registry.log_json(catalogue_records(spec), "features.json")
    if result.search:
        registry.log_json(result.search, "parameter_search.json")
    if result.blend_grades:
        registry.log_json({"chosen_weight": 0.0 if result.linear is None else result.linear.weight,
                           "inner_fold_roc_auc": {f"{w:.1f}": g for w, g in result.blend_grades.items()}},
                          "linear_blend.json")
    registry.log_text(catalogue_markdown(spec), "features.md")
    registry.log_frame(report.importance, "importance.parquet")
    registry.log_frame(report.predictions, "validation_predictions.parquet")
    for name, png in pictures.items():
        registry.log_bytes(png, name)
    registry.log_text(page, "evaluation.html")
    registry.log_json(config.model_dump(mode="json"), "config.json")
    registry.log_json(bundle.info["drift_reference"], "drift_reference.json")
    registry.log_json({**rows_summary(training.loaded), "notes": notes}, "data_report.json")


def log_curve(name: str, values: list[float]) -> None:
    """`values` as one metric with a step each (1, 2, ...), in batches of MLflow's limit of 1,000."""
    run_id, now = mlflow.active_run().info.run_id, int(time.time() * 1000)
    points = [Metric(name, float(v), now, step) for step, v in enumerate(values, start=1)]
    for start in range(0, len(points), 1000):
        MlflowClient().log_batch(run_id, metrics=points[start:start + 1000])


def code_version() -> str:
    """The git commit of this code, or "unknown" (an installed package)."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"
