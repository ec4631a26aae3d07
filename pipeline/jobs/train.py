"""The training job: prepare rows on the configured engine, fit, validate out of time, log and
register in MLflow, and decide the champion."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from features.errors import ContractError
from models import ModelBundle, decide, drift
from models.champion import Decision, missing_sources, strongest_baseline
from models.evaluation import evaluate as evaluate_model
from models.explain import typical_values
from models.training import FitResult
from models.validation import ValidationReport, validation_report
from pipeline.config import AppConfig
from pipeline.data.location import is_url
from pipeline.data.totals import rows_summary
from pipeline.engines import Engine, TrainingData, open_engine
from pipeline.engines.local import LocalEngine
from pipeline.exports import charts, evaluation_page
from pipeline.jobs.common import evaluation_pictures, read_truth
from pipeline.progress import Timer
from pipeline.tracking import registry
from pipeline.tracking.training_run import log_training_run

log = logging.getLogger(__name__)


def prepare_training(data: Path | str, *, config: AppConfig, until: date | None, out: Path,
                     engine: Engine | None = None, timer: Timer | None = None,
                     run_day: date | None = None) -> TrainingData:
    """Read the data (rows dated after `run_day`, default today UTC, plus data.future_tolerance_days set
    aside in <out>/quarantine), cut it at `until`, choose cutoffs, learn the spec and build labelled rows
    (on `engine`; by default in this process)."""
    return (engine or LocalEngine()).prepare_training(data, config=config, until=until, out=Path(out),
                                                      timer=timer or Timer(), run_day=run_day)


def train(data: Path | str, *, config: AppConfig, tracking_uri: str, until: date | None = None,
          out: Path = Path("churn_output/train"), run_day: date | None = None) -> dict[str, Any]:
    """Train, validate out of time, log and register: in this process, or on Dask (`config.engine`).
    `run_day` is the run's own day (default: today, UTC)."""
    timer = Timer()
    data = data if is_url(data) else Path(data)
    with open_engine(config) as engine:
        training = prepare_training(data, config=config, until=until, out=out, engine=engine, timer=timer,
                                    run_day=run_day)
        log.info("%d training rows over %d cutoffs, %d features, %d churners", training.total_rows,
                 len(training.plan.cutoffs), len(training.spec.feature_names), int(sum(training.plan.churners)))
        with timer("fit"):
            result = engine.fit(training, config)
        bundle = _bundle(training, result, config, timer)
        with timer("evaluate"):
            report = validation_report(training.rows, result, bundle, training.known.clients, config.evaluation,
                                       config.training.seed, read_truth(data))
        notes = list(training.plan.notes) + ([result.split.note] if result.split.note else []) + report.notes
        for note in report.notes:
            log.warning(note)
        pictures = {**evaluation_pictures(report.curves), "importance.png": charts.importance(report.importance)}
        page = evaluation_page(f"Validation on {', '.join(result.split.window)}", report.metrics, pictures,
                                report.notes)
        registry.configure(tracking_uri)
        reg = config.registry
        experiment_id = registry.ensure_experiment(reg.experiment, tracking_uri)
        with timer("mlflow"), mlflow.start_run(experiment_id=experiment_id,
                                               run_name=f"train {bundle.info['until']}") as run:
            log_training_run(experiment_id, config, training, result, bundle, report, pictures, page, notes, data)
            decision = _champion_decision(training, bundle, report, config)
            version, model_uri = registry.log_bundle(bundle, training.rows.head(100), reg.model_name,
                                                     _version_tags(decision, result, report, training, config))
            _record_decision(version, decision, result, report, training, config)
    log.info("champion decision: %s", decision.reason)
    return _result(run.info, model_uri, version, decision, report, result, bundle, notes, training, timer,
                   config, tracking_uri)


def _bundle(training: TrainingData, result: FitResult, config: AppConfig, timer: Timer) -> ModelBundle:
    """The fitted model with what scoring needs of its training: the spec, the horizon, the drift reference."""
    tc, plan = config.training, training.plan
    info = {
        "horizon_days": tc.horizon_days,
        "until": str(training.until.date()),
        "cutoffs": [str(t.date()) for t in plan.cutoffs],
        "cutoff_anchor": plan.anchor,
        "validation_kind": result.split.kind,
        "validation_window": list(result.split.window),
        "best_iteration": result.best_iteration,
        "input_fingerprint": training.loaded.fingerprint,
        "engine": config.engine.kind,
    }
    bundle = ModelBundle(booster=result.booster, spec=training.spec, info=info, calibrator=result.calibrator,
                         linear=result.linear, forecast=result.forecast)
    with timer("reference"):
        # what tonight's rows are compared with (drift gate): the latest training cutoff
        rows = training.rows
        latest_rows = rows[rows["cutoff"] == rows["cutoff"].max()]
        bundle.info["drift_reference"] = drift.reference_of(latest_rows, list(training.spec.feature_names),
                                                            bundle.predict(latest_rows), bins=config.drift.bins)
        # the typical client, from which a reason's risky side is measured (models.explain)
        bundle.info["typical"] = typical_values(latest_rows, list(training.spec.feature_names))
    return bundle


def _champion_decision(training: TrainingData, bundle: ModelBundle, report: ValidationReport,
                       config: AppConfig) -> Decision:
    """Compare with the champion on this model's validation window: same rows, labels and values; a
    model lacking a source the champion was trained with takes its place only when the config allows."""
    reg, tc = config.registry, config.training
    metric, new = tc.champion_metric, report.metrics.get(tc.champion_metric, float("nan"))
    baseline = strongest_baseline(report.baselines, report.metrics.get("roc_auc", float("nan")))
    rule = {"baseline": baseline, "must_beat_baseline": tc.champion_must_beat_baselines,
            "allow_fewer_sources": tc.allow_fewer_sources}
    current = registry.champion(reg.model_name, reg.champion_alias)
    if current is None:
        return decide(metric, new, None, tc.champion_margin, **rule)
    version, tags = current
    champion_model = _Lazy(lambda: registry.load_model(f"models:/{reg.model_name}/{version}"))
    lacking = missing_sources(_sources_of(tags, champion_model), training.spec.sources)
    if lacking:
        log.warning("the new model lacks %s, which champion v%s was trained with (training.allow_fewer_sources: %s)",
                    ", ".join(lacking), version, str(tc.allow_fewer_sources).lower())
    old = None
    same_rows = (tags.get("validation_window") == ",".join(bundle.info["validation_window"])
                 and tags.get("input_fingerprint") == bundle.info.get("input_fingerprint"))
    if same_rows and f"validation_{metric}" in tags:
        # same data, same window: both figures were graded on exactly these rows
        old = float(tags[f"validation_{metric}"])
    else:
        try:
            predictions = report.predictions
            cut = [pd.Timestamp(t) for t in sorted(predictions["cutoff"].unique())]
            scored = training.scores_at(cut, champion_model().bundle).rename(columns={"probability": "old"})
            joined = predictions.merge(scored, on=["client_id", "cutoff"])
            old = evaluate_model(joined["label"].to_numpy(), joined["old"].to_numpy(), joined["value"].to_numpy(),
                                 config.evaluation)[metric]
        except ContractError as exc:
            log.warning("champion v%s cannot be scored on this data (%s)", version, exc)
    return decide(metric, new, old, tc.champion_margin, version, lacking=lacking, **rule)


class _Lazy:
    """A value computed on first use only, then kept (the champion's model: loaded once, if at all)."""

    def __init__(self, make) -> None:
        self._make, self._value, self._made = make, None, False

    def __call__(self):
        if not self._made:
            self._value, self._made = self._make(), True
        return self._value


def _sources_of(tags: dict[str, str], champion_model: _Lazy) -> tuple[str, ...]:
    """The sources the champion was trained with: its version's tag, or (a version registered before
    the tag existed) its spec; () when it cannot be loaded (nothing then to compare)."""
    if "sources" in tags:
        return tuple(s for s in tags["sources"].split(",") if s)
    try:
        return tuple(champion_model().bundle.spec.sources)
    except ContractError as exc:
        log.warning("cannot read the champion's sources (%s)", exc)
        return ()


def _version_tags(decision: Decision, result: FitResult, report: ValidationReport, training: TrainingData,
                  config: AppConfig) -> dict[str, str]:
    """The few tags a registered version carries, readable on the registry page: the decision in a
    sentence, the two figures it rests on, and what the next decision compares (window, data, sources).
    The details are the run's `champion_decision.json`."""
    metric = config.training.champion_metric
    tags = {"champion_decision": decision.reason, "validation_window": ",".join(result.split.window),
            "input_fingerprint": training.loaded.fingerprint, "sources": ",".join(training.spec.sources)}
    for name in dict.fromkeys((metric, "roc_auc")):
        if name in report.metrics:
            tags[f"validation_{name}"] = str(float(report.metrics[name]))
    if decision.below_baseline:
        tags["below_baseline"] = decision.below_baseline
    if decision.missing_sources:
        tags["missing_sources"] = decision.missing_sources
    return tags


def _record_decision(version: str, decision: Decision, result: FitResult, report: ValidationReport,
                     training: TrainingData, config: AppConfig) -> None:
    """The aliases the decision moves (a demoted champion becomes the challenger), and the decision on
    the run: two tags and `champion_decision.json` with every figure."""
    reg, tc = config.registry, config.training
    previous = decision.compared_with if decision.promote else None
    registry.move_aliases(reg.model_name, version, decision.promote, reg.champion_alias, reg.challenger_alias,
                          previous)
    mlflow.set_tags({"champion_decision": decision.reason, "missing_sources": decision.missing_sources,
                     "model_version": version})
    registry.log_json({
        "model_version": version, "promoted": decision.promote,
        "alias": reg.champion_alias if decision.promote else reg.challenger_alias, "reason": decision.reason,
        "champion_metric": tc.champion_metric, "value": report.metrics.get(tc.champion_metric),
        "compared_with": decision.compared_with, "champion_value": decision.champion_value,
        "difference": decision.difference, "strongest_baseline": _baseline_summary(report),
        "below_baseline": decision.below_baseline, "sources": list(training.spec.sources),
        "missing_sources": [s for s in decision.missing_sources.split(",") if s],
        "validation": {"kind": result.split.kind, "window": list(result.split.window), "metrics": report.metrics},
        "input_fingerprint": training.loaded.fingerprint}, "champion_decision.json")


def _baseline_summary(report: ValidationReport) -> dict[str, Any] | None:
    verdict = strongest_baseline(report.baselines, report.metrics.get("roc_auc", float("nan")))
    return None if verdict is None else {"name": verdict.name, "roc_auc": round(verdict.roc_auc, 6),
                                         "model_minus_baseline": round(verdict.margin, 6)}


def _result(run: Any, model_uri: str, version: str, decision: Decision, report: ValidationReport,
            result: FitResult, bundle: ModelBundle, notes: list[str], training: TrainingData, timer: Timer,
            config: AppConfig, tracking_uri: str) -> dict[str, Any]:
    reg = config.registry
    return {
        "run_id": run.run_id,
        "experiment_id": run.experiment_id,
        "model_uri": model_uri,
        "model_version": version,
        "champion": decision.promote,
        "alias": reg.champion_alias if decision.promote else reg.challenger_alias,
        "champion_decision": decision.reason,
        "missing_sources": [s for s in decision.missing_sources.split(",") if s],
        "metrics": {k: round(v, 6) for k, v in report.metrics.items()},
        "baselines": {name: {k: round(v, 6) for k, v in figures.items()} for name, figures in report.baselines.items()},
        "beats_baselines": report.beats_baselines,
        "strongest_baseline": _baseline_summary(report),
        "below_baseline": decision.below_baseline,
        "validation": {"kind": result.split.kind, "window": list(result.split.window)},
        "cutoffs": bundle.info["cutoffs"],
        "until": bundle.info["until"],
        "horizon_days": config.training.horizon_days,
        "notes": notes,
        "rows": rows_summary(training.loaded),
        "timings_s": timer.stages,
        "tracking_uri": tracking_uri,
    }
