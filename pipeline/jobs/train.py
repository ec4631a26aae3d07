"""The jobs behind the CLI: each reads its inputs, calls pure code, writes its outputs.

Only this room (with io and registry) touches files, MLflow and the clock.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from features import build_features, fit_spec, label_frame, training_rows
from features.cutoffs import as_of, latest_date, training_cutoffs
from features.errors import ContractError
from models import ModelBundle, baselines, drift, classification_metrics, decide, fit, risk_list, validation_window
from models.evaluation import client_values, gains_table, profit_curve, reliability_table
from models.evaluation import evaluate as evaluate_model
from models.explain import contributions, feature_catalogue_markdown
from models.segments import monthly_values
from pipeline.tracking import registry
from pipeline.config import AppConfig
from pipeline.progress import Timer
from pipeline.data.contract import LoadResult, load_folder
from pipeline.data.reading import sha256_of_file

log = logging.getLogger(__name__)


def _load(data: Path, out: Path, config: AppConfig, require_churn: bool) -> LoadResult:
    result = load_folder(Path(data), quarantine_dir=Path(out) / "quarantine",
                         max_rejected_share=config.data.max_rejected_share, require_churn=require_churn)
    _log_reports(result.reports)
    return result


def _log_reports(reports: dict) -> None:
    for report in reports.values():
        log.info("%s: %d rows read, %d used, %d set aside", report.file, report.rows_in, report.rows_used,
                 report.rows_quarantined)


def _rows_summary(result: LoadResult) -> dict[str, dict[str, int]]:
    return {name: {"rows_in": r.rows_in, "rows_used": r.rows_used, "rows_quarantined": r.rows_quarantined}
            for name, r in result.reports.items()}


def _code_version() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# ---------------------------------------------------------------------------------------- train

@dataclass
class TrainingData:
    """Everything a fit needs, prepared once: data known at `until`, cutoffs, spec and rows."""

    loaded: LoadResult
    known: Any  # Tables cut at `until`
    until: pd.Timestamp
    plan: Any  # features.cutoffs.CutoffPlan
    spec: Any  # features.spec.FeatureSpec
    rows: pd.DataFrame
    # the Dask engine: every training row on the cluster (`rows` holds those the report needs)
    distributed: Any = None
    scores_at: Any = None  # (cutoffs, bundle) -> that model's probabilities of the clients active then
    total_rows: int | None = None


# Above this many training rows the Dask engine brings back only what the report needs: the
# validation rows, the latest cutoff (drift reference) and a sample of clients for the baselines.
REPORT_ROWS = 2_000_000


def _plan_training(known, until_ts: pd.Timestamp, config: AppConfig):
    """Cutoffs, validation window and the day the spec learns from (data known before validation)."""
    tc = config.training
    plan = training_cutoffs(known, until_ts, tc.horizon_days, tc.n_cutoffs, tc.min_history_days, tc.cutoff_anchor)
    for note in plan.notes:
        log.warning(note)
    if not plan.cutoffs or not any(plan.churners):
        raise ContractError(f"no usable training cutoff holds a churner up to {until_ts.date()} with a "
                            f"{tc.horizon_days}-day horizon: the churn table needs churn dates after the first "
                            f"cutoff and at least {tc.horizon_days} days before --until", file="churn",
                            column="churned_at", count=int(sum(plan.churners)))
    window = validation_window(dict(zip(plan.cutoffs, plan.churners)), tc.validation_cutoffs)
    spec_date = max([t for t in plan.cutoffs if t < min(window)], default=plan.cutoffs[0]) if window \
        else max(t for t, n in zip(plan.cutoffs, plan.churners) if n)
    return plan, spec_date


def _prepare_distributed(data, *, config: AppConfig, until: date | None, out: Path, timer: Timer, client
                         ) -> TrainingData:
    """The Dask engine's preparation: checks and builders per partition on the cluster, the plan
    and spec from reductions of the partitions (the same functions as `prepare_training`)."""
    from models.training import client_bucket, split_rule
    from pipeline.engines import dask_engine
    from pipeline.jobs.score import InputTotals

    tc = config.training
    with timer("read"):
        parts = dask_engine.checked_partitions(client, data, require_churn=True,
                                               clients_per_partition=config.scoring.partition_clients,
                                               rows_per_partition=config.scoring.partition_rows)
        totals = InputTotals()
        for part in parts.reports:
            totals.account(part)
        totals.finish(Path(out) / "quarantine", config.data.max_rejected_share)
        _log_reports(totals.reports)
        whole = dask_engine.summary(client, parts)
    until_ts = pd.Timestamp(until) if until else latest_date(whole)
    known = as_of(whole, until_ts)
    plan, spec_date = _plan_training(known, until_ts, config)
    levels = dask_engine.levels(client, parts, min(spec_date, until_ts))
    spec = fit_spec(as_of(known, spec_date), config.features, levels=levels)
    for column, why in spec.ignored_columns.items():
        log.warning("clients column '%s' not used as a feature: %s", column, why)
    with timer("features"):
        rows = dask_engine.features(client, parts, list(plan.cutoffs), spec, until=until_ts,
                                    horizon_days=tc.horizon_days)
        rule = split_rule(dict(zip(plan.cutoffs, plan.churners)), tc)
        total = int(rows.map_partitions(len).compute().sum())
        if total <= REPORT_ROWS:
            kept = rows.compute()
        else:  # validation rows, the latest cutoff and a sample of clients (logistic baseline)
            share = REPORT_ROWS / total
            keep = lambda f: f[rule.masks(f, tc)[1] | (f["cutoff"] == plan.cutoffs[-1]).to_numpy()  # noqa: E731
                               | (client_bucket(f["client_id"], tc.seed + 1) < share)]
            kept = rows.map_partitions(keep, meta=rows._meta).compute()
            log.info("Dask: %d of %d training rows brought back for the report", len(kept), total)
        kept = kept.sort_values(["cutoff", "client_id"], kind="mergesort").reset_index(drop=True)

    def scores_at(cutoffs, other: ModelBundle) -> pd.DataFrame:
        # another model's probabilities, computed on the cluster: only three columns come back
        frame = dask_engine.features(client, parts, list(cutoffs), other.spec, until=until_ts)
        meta = pd.DataFrame({"client_id": pd.Series(dtype=str), "cutoff": pd.Series(dtype=str),
                             "probability": pd.Series(dtype=float)})
        return frame.map_partitions(_scores_of, other, meta=meta).compute()

    loaded = LoadResult(tables=whole, reports=totals.reports)
    return TrainingData(loaded, known, until_ts, plan, spec, kept, distributed=(rows, rule, client),
                        scores_at=scores_at, total_rows=total)


def prepare_training(data: Path, *, config: AppConfig, until: date | None, out: Path, timer: Timer | None = None,
                     client=None) -> TrainingData:
    """Read the folder, cut it at `until`, choose cutoffs, learn the spec and build labelled rows."""
    timer = timer or Timer()
    if client is not None:
        return _prepare_distributed(data, config=config, until=until, out=out, timer=timer, client=client)
    with timer("read"):
        loaded = _load(data, out, config, require_churn=True)
    tables = loaded.tables
    until_ts = pd.Timestamp(until) if until else latest_date(tables)
    known = as_of(tables, until_ts)  # no row after --until, ever
    tc = config.training
    # the spec (event types, category levels) learns only from what was known before validation
    plan, spec_date = _plan_training(known, until_ts, config)
    spec = fit_spec(as_of(known, spec_date), config.features)
    for column, why in spec.ignored_columns.items():
        log.warning("clients column '%s' not used as a feature: %s", column, why)
    with timer("features"):
        rows = training_rows(known, plan.cutoffs, spec, tc.horizon_days)
    return TrainingData(loaded, known, until_ts, plan, spec, rows,
                        scores_at=lambda cutoffs, other: _scores_of(build_features(known, cutoffs, other.spec), other))


def train(data: Path | str, *, config: AppConfig, tracking_uri: str, until: date | None = None,
          out: Path = Path("churn_output/train")) -> dict[str, Any]:
    """Train, validate out of time, log and register: in this process, or on Dask (`config.engine`)."""
    if config.engine.kind == "dask":
        from pipeline.engines import dask_engine
        with dask_engine.connect(config.engine) as client:
            return _train(data, config=config, tracking_uri=tracking_uri, until=until, out=out, client=client)
    return _train(Path(data), config=config, tracking_uri=tracking_uri, until=until, out=out)


def _train(data: Path | str, *, config: AppConfig, tracking_uri: str, until: date | None, out: Path,
           client=None) -> dict[str, Any]:
    timer = Timer()
    prepared = prepare_training(data, config=config, until=until, out=out, timer=timer, client=client)
    loaded, known, until_ts, plan, spec, rows = (prepared.loaded, prepared.known, prepared.until, prepared.plan,
                                                 prepared.spec, prepared.rows)
    tc = config.training
    n_rows = prepared.total_rows or len(rows)
    log.info("%d training rows over %d cutoffs, %d features, %d churners", n_rows, len(plan.cutoffs),
             len(spec.feature_names), int(sum(plan.churners)))
    with timer("fit"):
        if prepared.distributed is not None:
            from models.distributed import fit_distributed

            everything, rule, cluster = prepared.distributed
            split = rule.split(rows, tc)
            result = fit_distributed(everything, rule, spec, tc, cluster, rows.loc[split.valid], split)
        else:
            result = fit(rows, spec, tc)
    info = {
        "horizon_days": tc.horizon_days,
        "until": str(until_ts.date()),
        "cutoffs": [str(t.date()) for t in plan.cutoffs],
        "cutoff_anchor": plan.anchor,
        "validation_kind": result.split.kind,
        "validation_window": list(result.split.window),
        "best_iteration": result.best_iteration,
        "input_fingerprint": loaded.fingerprint,
        "engine": config.engine.kind,
    }
    bundle = ModelBundle(booster=result.booster, spec=spec, info=info, calibrator=result.calibrator)
    with timer("reference"):
        # what tonight's rows are compared with (drift gate): the latest training cutoff
        latest_rows = rows[rows["cutoff"] == rows["cutoff"].max()]
        names = list(spec.feature_names)
        bundle.info["drift_reference"] = drift.reference_of(latest_rows, names, bundle.predict(latest_rows),
                                                            bins=config.drift.bins)
    with timer("evaluate"):
        report = _validation_report(rows, result, bundle, known.clients, config, Path(data))
    notes = list(plan.notes) + ([result.split.note] if result.split.note else []) + report.notes
    for note in report.notes:
        log.warning(note)

    registry.configure(tracking_uri)
    reg = config.registry
    experiment_id = registry.ensure_experiment(reg.experiment, tracking_uri)
    with timer("mlflow"), mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({**{f"lgbm_{k}": v for k, v in tc.lightgbm.model_dump().items()},
                           "horizon_days": tc.horizon_days, "until": info["until"], "n_cutoffs": len(plan.cutoffs),
                           "cutoff_anchor": plan.anchor, "validation_kind": result.split.kind,
                           "validation_window": ",".join(result.split.window), "calibration": tc.calibration,
                           "best_iteration": result.best_iteration, "n_features": len(spec.feature_names),
                           "training_rows": n_rows, "seed": tc.seed, "engine": config.engine.kind})
        metrics = report.metrics
        mlflow.log_metrics({f"validation_{k}": v for k, v in metrics.items()})
        mlflow.set_tags({"input_fingerprint": loaded.fingerprint, "code_version": _code_version(),
                         "data_folder": data_location(data), "kind": "training",
                         "beats_baselines": str(report.beats_baselines).lower()})
        for name, figures in report.baselines.items():
            with mlflow.start_run(run_name=f"baseline: {name}", nested=True, experiment_id=experiment_id):
                mlflow.set_tags({"kind": "baseline", "baseline": name})
                mlflow.log_metrics({f"validation_{k}": v for k, v in figures.items()})
        registry.log_json(list(spec.feature_names), "features.json")
        registry.log_text(feature_catalogue_markdown(spec), "features.md")
        registry.log_frame(report.importance, "importance.parquet")
        registry.log_frame(report.predictions, "validation_predictions.parquet")
        for name, png in report.images.items():
            registry.log_bytes(png, name)
        registry.log_text(report.html, "evaluation.html")
        registry.log_json(config.model_dump(mode="json"), "config.json")
        registry.log_json(bundle.info["drift_reference"], "drift_reference.json")
        registry.log_json({**_rows_summary(loaded), "notes": notes}, "data_report.json")
        version, model_uri = registry.log_bundle(bundle, rows.head(100), reg.model_name)
        decision = _champion_decision(prepared.scores_at, bundle, report.predictions, metrics, config)
        registry.tag_version(reg.model_name, version, {
            "validation_window": ",".join(result.split.window), "validation_kind": result.split.kind,
            **{f"validation_{k}": v for k, v in metrics.items()},
            "input_fingerprint": loaded.fingerprint, "champion_decision": decision.reason,
            "champion_metric": tc.champion_metric, "compared_with": decision.compared_with or "",
            "champion_value": "" if decision.champion_value is None else decision.champion_value,
            "difference": "" if decision.difference is None else decision.difference})
        registry.set_alias(reg.model_name, reg.champion_alias if decision.promote else reg.challenger_alias,
                           version)
        mlflow.set_tag("champion_decision", decision.reason)
    log.info("champion decision: %s", decision.reason)
    return {
        "run_id": run.info.run_id,
        "model_uri": model_uri,
        "model_version": version,
        "champion": decision.promote,
        "alias": reg.champion_alias if decision.promote else reg.challenger_alias,
        "champion_decision": decision.reason,
        "metrics": {k: round(v, 6) for k, v in metrics.items()},
        "baselines": {name: {k: round(v, 6) for k, v in figures.items()} for name, figures in report.baselines.items()},
        "beats_baselines": report.beats_baselines,
        "validation": {"kind": result.split.kind, "window": list(result.split.window)},
        "cutoffs": info["cutoffs"],
        "until": info["until"],
        "horizon_days": tc.horizon_days,
        "notes": notes,
        "rows": _rows_summary(loaded),
        "timings_s": timer.stages,
        "tracking_uri": tracking_uri,
    }


@dataclass
class ValidationReport:
    metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    beats_baselines: bool
    predictions: pd.DataFrame  # client_id, cutoff, label, probability, probability_uncalibrated, value
    importance: pd.DataFrame
    images: dict[str, bytes]
    html: str
    notes: list[str]


def _finite(figures: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in figures.items() if v is not None and np.isfinite(v)}


def _grade(label: np.ndarray, calibrated: np.ndarray, raw: np.ndarray, value: np.ndarray, config: AppConfig,
           others: dict[str, np.ndarray] | None = None) -> tuple[dict[str, float], dict[str, bytes]]:
    """Every figure of calibrated probabilities (with the raw ones' calibration figures) and the plots."""
    from pipeline.exports import charts as plots
    ec = config.evaluation
    metrics = _finite(evaluate_model(label, calibrated, value, ec))
    before = _finite(evaluate_model(label, raw, value, ec))
    for key in ("brier", "log_loss", "ece"):
        if key in before:
            metrics[f"uncalibrated_{key}"] = before[key]
    capacity = ec.team_capacity if ec.team_capacity < 1 else ec.team_capacity / max(len(label), 1)
    curves = {"model": gains_table(label, calibrated), **{n: gains_table(label, p) for n, p in (others or {}).items()}}
    images = {
        "reliability.png": plots.reliability({
            "before calibration": reliability_table(label, raw, ec.calibration_bins),
            "after calibration": reliability_table(label, calibrated, ec.calibration_bins)}),
        "gains_and_lift.png": plots.gains(curves),
        "expected_profit.png": plots.profit(profit_curve(label, calibrated, value, ec), capacity),
    }
    return metrics, images


def _validation_report(rows: pd.DataFrame, result, bundle: ModelBundle, clients: pd.DataFrame,
                       config: AppConfig, data: Path) -> ValidationReport:
    """Every figure of the model on its out-of-time fold, against baselines and the oracle."""
    from pipeline.exports import charts as plots
    ec = config.evaluation
    names = list(bundle.spec.feature_names)
    valid = rows.loc[result.split.valid].reset_index(drop=True)
    label = valid["label"].to_numpy()
    monthly = monthly_values(clients)
    value = client_values(None if monthly is None else monthly.reindex(valid["client_id"]).to_numpy(),
                          len(valid), ec)
    predictions = valid[["client_id", "cutoff", "label"]].assign(
        cutoff=valid["cutoff"].dt.date.astype(str), probability=result.valid_probability,
        probability_uncalibrated=result.valid_probability_raw, value=value)

    train_rows = rows.loc[result.split.train]
    recency_score, recency_source = baselines.recency(valid)
    scores = {"logistic regression": baselines.logistic_regression(train_rows, valid, names, config.training.seed),
              f"recency ({recency_source})": recency_score}
    figures = {name: _finite(evaluate_model(label, p, value, ec)) for name, p in scores.items()}
    for key in ("brier", "log_loss", "ece"):  # a recency rank is not a probability: only its ranking counts
        figures[f"recency ({recency_source})"].pop(key, None)
    metrics, images = _grade(label, result.valid_probability, result.valid_probability_raw, value, config, scores)
    metrics.update(_oracle_comparison(data, predictions))
    notes = []
    beaten_by = [name for name, f in figures.items()
                 if f.get("roc_auc", 0) >= metrics.get("roc_auc", 0)
                 or f.get("expected_profit", 0) > metrics.get("expected_profit", 0)]
    if beaten_by:
        notes.append(f"LightGBM does not beat the baseline(s) {', '.join(beaten_by)} on the validation window "
                     f"(ROC AUC or expected profit): prefer the simpler model or look at the data")
    importance = global_importance(bundle, valid)
    images["importance.png"] = plots.importance(importance)
    page = plots.html_page(f"Validation on {', '.join(result.split.window)}", metrics, images, notes)
    return ValidationReport(metrics, figures, not beaten_by, predictions, importance, images, page, notes)


def global_importance(bundle: ModelBundle, rows: pd.DataFrame) -> pd.DataFrame:
    """Gain per feature and mean |contribution| on the given rows, strongest first."""
    contrib = contributions(bundle.booster, rows, bundle.spec)
    names = list(bundle.spec.feature_names)
    frame = pd.DataFrame({"feature": names,
                          "gain": bundle.booster.feature_importance(importance_type="gain"),
                          "mean_abs_contribution": np.abs(contrib).mean(axis=0) if len(contrib) else 0.0})
    return frame.sort_values(["mean_abs_contribution", "feature"], ascending=[False, True]).reset_index(drop=True)


def _oracle_comparison(data: Path, predictions: pd.DataFrame) -> dict[str, float]:
    """On generated data, how close the model gets to the generator's own probability.

    Read only after fitting, for evaluation; training never sees truth.parquet.
    """
    path = data / "truth.parquet"
    if not path.is_file():
        return {}
    truth = pd.read_parquet(path, columns=["client_id", "as_of", "p_true"])
    truth = truth.assign(client_id=truth["client_id"].astype(str),
                         cutoff=pd.to_datetime(truth["as_of"]).dt.date.astype(str))
    joined = predictions.merge(truth[["client_id", "cutoff", "p_true"]], on=["client_id", "cutoff"], how="inner")
    if len(joined) < len(predictions) * 0.9 or joined["label"].nunique() < 2:
        return {}
    model_auc = classification_metrics(joined["label"], joined["probability"])["roc_auc"]
    oracle_auc = classification_metrics(joined["label"], joined["p_true"])["roc_auc"]
    return {"oracle_roc_auc": oracle_auc, "model_to_oracle_auc_ratio": model_auc / oracle_auc}


def _scores_of(features: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """client_id, cutoff (ISO date) and the model's probability of each feature row."""
    return pd.DataFrame({"client_id": features["client_id"].astype(str).to_numpy(),
                         "cutoff": features["cutoff"].dt.date.astype(str).to_numpy(),
                         "probability": bundle.predict(features)})


def _champion_decision(scores_at, bundle: ModelBundle, predictions: pd.DataFrame,
                       new_metrics: dict[str, float], config: AppConfig):
    """Compare with the champion on this model's validation window: same rows, labels and values."""
    reg, tc = config.registry, config.training
    metric = tc.champion_metric
    current = registry.champion(reg.model_name, reg.champion_alias)
    if current is None:
        return decide(metric, new_metrics.get(metric, float("nan")), None, tc.champion_margin)
    version, tags = current
    old = None
    same_rows = (tags.get("validation_window") == ",".join(bundle.info["validation_window"])
                 and tags.get("input_fingerprint") == bundle.info.get("input_fingerprint"))
    if same_rows and f"validation_{metric}" in tags:
        # same data, same window: both figures were graded on exactly these rows
        old = float(tags[f"validation_{metric}"])
    else:
        try:
            old_model = registry.load_model(f"models:/{reg.model_name}/{version}")
            cut = [pd.Timestamp(t) for t in sorted(predictions["cutoff"].unique())]
            scored = scores_at(cut, old_model.bundle).rename(columns={"probability": "old"})
            joined = predictions.merge(scored, on=["client_id", "cutoff"])
            old = evaluate_model(joined["label"].to_numpy(), joined["old"].to_numpy(), joined["value"].to_numpy(),
                                 config.evaluation)[metric]
        except ContractError as exc:
            log.warning("champion v%s cannot be scored on this data (%s)", version, exc)
    return decide(metric, new_metrics.get(metric, float("nan")), old, tc.champion_margin, version)


# ---------------------------------------------------------------------------------------- feature catalogue

CATALOGUE_HEADER = """# Feature catalogue

Generated by `churn features` from the builders in `features/` (do not edit by hand:
`make docs` rewrites it from generated data). Names that carry an event type, a channel or a
clients column come from the data itself, so a model trained on other data lists its own;
every training run logs its catalogue as `features.md`.

"""


def feature_catalogue(data: Path, *, config: AppConfig, out_file: Path | None = None) -> dict[str, Any]:
    """The catalogue (name, source, window, meaning) of the features this data gives."""
    loaded = _load(data, Path("churn_output/features"), config, require_churn=False)
    tables = loaded.tables
    cutoff = latest_date(tables)
    spec = fit_spec(as_of(tables, cutoff), config.features)
    text = CATALOGUE_HEADER + feature_catalogue_markdown(spec)
    if out_file is not None:
        Path(out_file).parent.mkdir(parents=True, exist_ok=True)
        publish_file(Path(out_file), text.encode("utf-8"))
    return {"features": len(spec.feature_names), "out": None if out_file is None else str(out_file), "text": text}


# ---------------------------------------------------------------------------------------- evaluate, promote

def evaluate(data: Path, *, config: AppConfig, tracking_uri: str, model_uri: str | None = None,
             as_of_date: date | None = None, out: Path = Path("churn_output/evaluate")) -> dict[str, Any]:
    """Grade a registered model on a cutoff whose labels the data has fully observed."""
    from pipeline.exports import charts as plots
    out = Path(out)
    loaded = _load(data, out, config, require_churn=True)
    tables = loaded.tables
    registry.configure(tracking_uri)
    reg, ec = config.registry, config.evaluation
    uri = model_uri or f"models:/{reg.model_name}@{reg.champion_alias}"
    model = registry.load_model(uri)
    bundle = model.bundle
    horizon = int(bundle.info.get("horizon_days", config.training.horizon_days))
    latest = latest_date(tables)
    if as_of_date is None:
        cutoff = pd.date_range(end=latest - pd.Timedelta(days=horizon), periods=1, freq="ME")[0]
    else:
        cutoff = pd.Timestamp(as_of_date)
    if cutoff + pd.Timedelta(days=horizon) > latest:
        raise ContractError(f"labels at {cutoff.date()} are not fully observed: the data ends {latest.date()}, "
                            f"before the {horizon}-day horizon closes; choose an earlier --as-of", file="--as-of")
    notes = []
    trained_until = bundle.info.get("until")
    if trained_until and pd.Timestamp(trained_until) >= cutoff + pd.Timedelta(days=horizon):
        notes.append(f"the model was trained on data up to {trained_until}, which holds these labels: "
                     f"the figures are in-sample, not an honest test")
    features = build_features(tables, [cutoff], bundle.spec)
    labels = label_frame(tables, [cutoff], horizon)
    label = labels["label"].to_numpy()
    if len(np.unique(label)) < 2:
        raise ContractError(f"no churner (or no stayer) among the {len(label)} clients active at {cutoff.date()}",
                            file="churn", column="churned_at")
    raw, calibrated = bundle.predict_raw(features), bundle.predict(features)
    monthly = monthly_values(tables.clients)
    value = client_values(None if monthly is None else monthly.reindex(features["client_id"]).to_numpy(),
                          len(features), ec)
    metrics, images = _grade(label, calibrated, raw, value, config)
    predictions = features[["client_id"]].assign(cutoff=str(cutoff.date()), label=label, probability=calibrated,
                                                 probability_uncalibrated=raw, value=value)
    metrics.update(_oracle_comparison(Path(data), predictions))
    page = plots.html_page(f"Evaluation of {uri} (version {model.version}) at {cutoff.date()}", metrics, images,
                           notes)
    out.mkdir(parents=True, exist_ok=True)
    for name, png in images.items():
        publish_file(out / name, png)
    publish_file(out / "evaluation.html", page.encode("utf-8"))
    for note in notes:
        log.warning(note)
    experiment_id = registry.ensure_experiment(reg.experiment, tracking_uri)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"evaluate v{model.version} at {cutoff.date()}") as run:
        mlflow.set_tags({"kind": "evaluation", "model_uri": uri, "model_version": model.version,
                         "as_of": str(cutoff.date()), "input_fingerprint": loaded.fingerprint,
                         "in_sample": str(bool(notes)).lower()})
        mlflow.log_metrics(metrics)
        for name, png in images.items():
            registry.log_bytes(png, name)
        registry.log_text(page, "evaluation.html")
        registry.log_frame(predictions, "predictions.parquet")
    return {"run_id": run.info.run_id, "model_uri": uri, "model_version": model.version,
            "as_of": str(cutoff.date()), "horizon_days": horizon, "metrics": {k: round(v, 6) for k, v in metrics.items()},
            "notes": notes, "outputs": {"html": str(out / "evaluation.html")}}


def promote(version: str, *, config: AppConfig, tracking_uri: str) -> dict[str, Any]:
    """Give `version` the champion alias by hand, and say so on the version."""
    registry.configure(tracking_uri)
    reg = config.registry
    if not registry.version_exists(reg.model_name, version):
        raise ContractError(f"model '{reg.model_name}' has no version {version}", file="VERSION")
    current = registry.champion(reg.model_name, reg.champion_alias)
    previous = current[0] if current else None
    registry.set_alias(reg.model_name, reg.champion_alias, version)
    reason = f"promoted by hand over v{previous}" if previous and previous != str(version) else "promoted by hand"
    registry.tag_version(reg.model_name, version, {"champion_decision": reason,
                                                   "compared_with": previous or ""})
    log.info("%s v%s is now %s (%s)", reg.model_name, version, reg.champion_alias, reason)
    return {"model": reg.model_name, "version": str(version), "alias": reg.champion_alias,
            "previous_champion": previous, "decision": reason}


# ---------------------------------------------------------------------------------------- score

from pipeline.jobs.score import data_location, publish_file, score  # noqa: E402  (the nightly job has its own module)


# ---------------------------------------------------------------------------------------- generate, demo

def generate(out: Path, *, clients: int, seed: int, end: date | None) -> dict[str, Any]:
    from pipeline.synth.generator import DEFAULT_END
    from pipeline.synth.generator import generate as run_generator

    started = time.perf_counter()
    counts = run_generator(Path(out), n_clients=clients, seed=seed, end=end or DEFAULT_END)
    return {"out": str(out), "rows": counts, "seconds": round(time.perf_counter() - started, 2)}


def demo(out: Path, *, config: AppConfig, tracking_uri: str, clients: int = 5000, seed: int = 7) -> dict[str, Any]:
    out = Path(out)
    generated = generate(out / "data", clients=clients, seed=seed, end=None)
    trained = train(out / "data", config=config, tracking_uri=tracking_uri, out=out / "train")
    scored = score(out / "data", out=out / "risk", config=config, tracking_uri=tracking_uri)
    return {"generate": generated, "train": trained, "score": scored}
