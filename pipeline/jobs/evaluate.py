"""The evaluation job: grade a registered model on a cutoff whose labels the data has fully observed."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from features import build_features, label_frame
from features.cutoffs import latest_date
from features.errors import ContractError
from models.evaluation import client_values
from models.segments import monthly_values
from models.validation import grade, oracle_comparison
from pipeline.config import AppConfig
from pipeline.engines.local import load_checked
from pipeline.exports import evaluation_page
from pipeline.jobs.common import evaluation_pictures, read_truth
from pipeline.publish.files import publish_file
from pipeline.tracking import registry

log = logging.getLogger(__name__)


def evaluate(data: Path, *, config: AppConfig, tracking_uri: str, model_uri: str | None = None,
             as_of_date: date | None = None, out: Path = Path("churn_output/evaluate")) -> dict[str, Any]:
    """Grade a registered model on a cutoff whose labels the data has fully observed."""
    out = Path(out)
    loaded = load_checked(data, out, config, require_churn=True)
    tables = loaded.tables
    registry.configure(tracking_uri, create=False)
    reg = config.registry
    uri = model_uri or f"models:/{reg.model_name}@{reg.champion_alias}"
    model = registry.load_model(uri)
    bundle = model.bundle
    horizon = int(bundle.info.get("horizon_days", config.training.horizon_days))
    cutoff = _labelled_cutoff(latest_date(tables), as_of_date, horizon)
    notes = _in_sample_notes(bundle.info.get("until"), cutoff, horizon)
    features = build_features(tables, [cutoff], bundle.spec)
    label = label_frame(tables, [cutoff], horizon)["label"].to_numpy()
    if len(np.unique(label)) < 2:
        raise ContractError(f"no churner (or no stayer) among the {len(label)} clients active at {cutoff.date()}",
                            file="churn", column="churned_at")
    raw, calibrated = bundle.predict_raw(features), bundle.predict(features)
    monthly = monthly_values(tables.clients)
    value = client_values(None if monthly is None else monthly.reindex(features["client_id"]).to_numpy(),
                          len(features), config.evaluation)
    metrics, curves = grade(label, calibrated, raw, value, config.evaluation)
    pictures = evaluation_pictures(curves)
    predictions = features[["client_id"]].assign(cutoff=str(cutoff.date()), label=label, probability=calibrated,
                                                 probability_uncalibrated=raw, value=value)
    truth = read_truth(data)
    if truth is not None:
        metrics.update(oracle_comparison(truth, predictions))
    page = evaluation_page(f"Evaluation of {uri} (version {model.version}) at {cutoff.date()}", metrics, pictures,
                            notes)
    _write(out, pictures, page)
    for note in notes:
        log.warning(note)
    experiment_id = registry.ensure_experiment(reg.experiment, tracking_uri)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"evaluate v{model.version} at {cutoff.date()}") as run:
        mlflow.set_tags({"kind": "evaluation", "model_uri": uri, "model_version": model.version,
                         "as_of": str(cutoff.date()), "input_fingerprint": loaded.fingerprint,
                         "in_sample": str(bool(notes)).lower()})
        mlflow.log_metrics(metrics)
        for name, png in pictures.items():
            registry.log_bytes(png, name)
        registry.log_text(page, "evaluation.html")
        registry.log_frame(predictions, "predictions.parquet")
    return {"run_id": run.info.run_id, "model_uri": uri, "model_version": model.version,
            "as_of": str(cutoff.date()), "horizon_days": horizon,
            "metrics": {k: round(v, 6) for k, v in metrics.items()},
            "notes": notes, "outputs": {"html": str(out / "evaluation.html")}}


def _labelled_cutoff(latest: pd.Timestamp, as_of_date: date | None, horizon: int) -> pd.Timestamp:
    """--as-of, or the latest month-end whose horizon the data has seen close."""
    if as_of_date is None:
        cutoff = pd.date_range(end=latest - pd.Timedelta(days=horizon), periods=1, freq="ME")[0]
    else:
        cutoff = pd.Timestamp(as_of_date)
    if cutoff + pd.Timedelta(days=horizon) > latest:
        raise ContractError(f"labels at {cutoff.date()} are not fully observed: the data ends {latest.date()}, "
                            f"before the {horizon}-day horizon closes; choose an earlier --as-of", file="--as-of")
    return cutoff


def _in_sample_notes(trained_until: str | None, cutoff: pd.Timestamp, horizon: int) -> list[str]:
    if trained_until and pd.Timestamp(trained_until) >= cutoff + pd.Timedelta(days=horizon):
        return [f"the model was trained on data up to {trained_until}, which holds these labels: "
                f"the figures are in-sample, not an honest test"]
    return []


def _write(out: Path, pictures: dict[str, bytes], page: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, png in pictures.items():
        publish_file(out / name, png)
    publish_file(out / "evaluation.html", page.encode("utf-8"))
