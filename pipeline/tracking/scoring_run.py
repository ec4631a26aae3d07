"""The scoring run in MLflow (experiment `<experiment>-scoring`): drift and realised figures.

A tracking server that is down must not cost the night's list, so a failure here is a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import numpy as np

from pipeline.config import AppConfig
from pipeline.publish.manifest import RunRecord
from pipeline.publish.runs import DRIFT_REPORT
from pipeline.tracking import registry

log = logging.getLogger(__name__)


def log_scoring_run(config: AppConfig, tracking_uri: str, record: RunRecord, report, realised: list[dict],
                    out: Path, stopped: bool) -> str | None:
    """The run's tags and figures; its id (None when MLflow could not be reached)."""
    try:
        experiment_id = registry.ensure_experiment(f"{config.registry.experiment}-scoring", tracking_uri)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"score {record.as_of}") as run:
            # "stopped" by a gate, else "scored" until the list is published ("published")
            mlflow.set_tags({"kind": "scoring", "as_of": record.as_of, "model_uri": record.model_uri,
                             "model_version": record.model_version, "output_folder": str(out.resolve()),
                             "status": "stopped" if stopped else "scored"})
            metrics = {"clients_scored": record.clients_scored or 0, "clients_listed": record.clients_listed or 0}
            if report is not None:
                metrics.update(_drift_metrics(report))
                registry.log_frame(report.table, DRIFT_REPORT.replace(".csv", ".parquet"))
                mlflow.log_text(report.table.to_csv(index=False), DRIFT_REPORT)
            for row in realised:
                for key in ("roc_auc", "precision_at_capacity", "lift_at_capacity", "recall_at_capacity"):
                    metrics[f"realised_{key}_{row['list_as_of']}"] = row[key]
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(float(v))})
        return run.info.run_id
    except Exception as exc:  # noqa: BLE001 - see the module's docstring
        log.warning("could not log the scoring run to MLflow (%s: %s); the outputs are unaffected",
                    type(exc).__name__, exc)
        return None


def _drift_metrics(report) -> dict[str, float]:
    table = report.table.set_index("column")
    features = table.drop(index="churn_probability", errors="ignore")["psi"]
    return {"drift_score_psi": float(table["psi"].get("churn_probability", np.nan)),
            "drift_max_feature_psi": float(features.max()) if len(features) else 0.0,
            "drift_features_warn": int((table["status"] != "ok").sum())}


def tag_run(tracking_uri: str, run_id: str | None, key: str, value: str) -> None:
    if run_id is None:
        return
    try:
        mlflow.MlflowClient(tracking_uri=tracking_uri).set_tag(run_id, key, value)
    except Exception as exc:  # noqa: BLE001 - as in log_scoring_run
        log.warning("could not tag the scoring run in MLflow (%s: %s)", type(exc).__name__, exc)
