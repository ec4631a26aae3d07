"""The nightly scoring job: bounded memory, gates, atomic publication, history, monitoring.

An output folder holds the published set (pipeline/publish/runs.py), the latest attempt's
manifest.json, drift_report.csv and quarantine/<table>.csv (rows dated after the run's day among
them), and monitoring.csv (the realised performance of earlier lists once the data covers their
horizon). One run at a time per folder; a run scoring no client, or too few against the published
one, stops before publication.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.errors import GateStop
from models import drift, risk_list
from models.playbook import Playbook, client_facts, load_playbook
from models.risk_list import ListOptions
from models.summary import ListSummary
from pipeline.config import AppConfig
from pipeline.data.location import data_location, is_url
from pipeline.data.reading import sha256_of_file
from pipeline.engines import Engine, Portfolio, ScoringJob, open_engine
from pipeline.progress import Timer
from pipeline.publish import gates, runs
from pipeline.publish.lock import exclusive
from pipeline.publish.manifest import RunRecord, write_manifest
from pipeline.tracking import registry
from pipeline.tracking.registry import LoadedModel
from pipeline.tracking.scoring_run import log_scoring_run, tag_run

log = logging.getLogger(__name__)

GRADED_SHARE = 0.05
# the playbook of a config without scoring.playbook: package data, so an installed wheel has it too
# (tests/pipeline/test_packaging.py keeps it byte-identical to configs/playbook.yaml, the one users read)
DEFAULT_PLAYBOOK = resources.files("pipeline") / "configs" / "playbook.yaml"


def score(data: Path | str, *, out: Path, config: AppConfig, tracking_uri: str, model_uri: str | None = None,
          as_of_date: date | None = None, sort: str | None = None, capacity: float | None = None,
          lang: str | None = None, partition_clients: int | None = None,
          run_day: date | None = None) -> dict[str, Any]:
    """Score under the folder's lock and leave a manifest of the run, whether it worked or not. `run_day`
    is the run's own day (default: today, UTC): rows dated after it plus data.future_tolerance_days are
    set aside."""
    out = Path(out)
    sc = config.scoring
    options = ListOptions(sort=sort or sc.sort, capacity=capacity or sc.capacity, lang=lang or sc.lang,
                          contact=config.evaluation if sc.profit_cut else None, glossary=config.glossary)
    data = data if is_url(data) else Path(data)
    with exclusive(out):
        record = RunRecord(command="score", data=data_location(data), engine=config.engine.kind)
        write_manifest(out, record)
        engine: Engine | None = None
        try:
            runs.clean_leftovers(out)
            with open_engine(config, scoring=None if is_url(data) else data,
                             partition_clients=partition_clients) as engine:
                result = _score(engine, data, out, config, tracking_uri, model_uri, as_of_date, options,
                                partition_clients or sc.partition_clients, record, run_day)
        except BaseException as exc:
            if engine is not None:
                engine.clean_up(record, published=False)
            record.ended(exc)
            write_manifest(out, record)
            raise
        finally:
            shutil.rmtree(out / runs.WORK, ignore_errors=True)
        engine.clean_up(record, published=True)
        record.ended(None)
        write_manifest(out, record)
    return result


@dataclass
class _Night:
    """What the run has decided so far, for the steps after the engine."""

    out: Path
    config: AppConfig
    model: LoadedModel
    options: ListOptions
    portfolio: Portfolio
    record: RunRecord
    timer: Timer

    @property
    def day(self) -> str:
        return str(self.portfolio.cutoff.date())

    @property
    def horizon(self) -> int:
        return int(self.model.bundle.info.get("horizon_days", self.config.training.horizon_days))


def playbook_of(config: AppConfig) -> Playbook:
    """The config's playbook file, or the one shipped with the package."""
    if config.scoring.playbook:
        return load_playbook(Path(config.scoring.playbook))
    with resources.as_file(DEFAULT_PLAYBOOK) as shipped:  # a real file, even from a zipped install
        return load_playbook(shipped)


def _score(engine: Engine, data: Path | str, out: Path, config: AppConfig, tracking_uri: str, model_uri: str | None,
           as_of_date: date | None, options: ListOptions, partition_clients: int,
           record: RunRecord, run_day: date | None) -> dict[str, Any]:
    timer = Timer()
    record.timings_s = timer.stages
    playbook = playbook_of(config)
    registry.configure(tracking_uri, create=False)
    record.model_uri = model_uri or f"models:/{config.registry.model_name}@{config.registry.champion_alias}"
    with timer("load_model"):
        model = registry.load_model(record.model_uri)
    record.model_version = model.version
    profiles = drift.profiles_of(model.bundle.info.get("drift_reference"))
    portfolio = engine.score(ScoringJob(data, out, config, model.bundle, profiles,
                                        None if as_of_date is None else pd.Timestamp(as_of_date),
                                        partition_clients, timer, record, run_day))
    record.input_fingerprint = portfolio.inputs.fingerprint()
    night = _Night(out, config, model, options, portfolio, record, timer)
    with timer("list"):
        scored = risk_list.order(risk_list.score_frame_of(pd.concat(portfolio.cores, ignore_index=True),
                                                          config.segments), options.sort)
        portfolio.cores.clear()
        listed = risk_list.select(scored, options)
    record.clients_scored, record.clients_listed = int(len(scored)), int(len(listed))
    drift_result, realised, run_id = _gates(night, tracking_uri)
    with timer("explain"):
        explained, facts = _reasons(listed, portfolio, model, options)
    with timer("list"):
        listed, scored, summary = risk_list.finish(listed, scored, explained, facts, model.bundle, config.segments,
                                                   playbook,
                                                   runs.previous_list(out, night.day), night.day, model.version,
                                                   options)
    with timer("write"):
        paths = _publish(night, listed, scored, summary, drift_result)
    tag_run(tracking_uri, run_id, "status", "published")
    log.info("scored %d clients active at %s with %s (version %s); %d listed", len(scored), night.day,
             record.model_uri, model.version, len(listed))
    record.outputs = {Path(p).name: sha256_of_file(Path(p)) for p in paths.values()}
    return _result(night, listed, paths, summary, drift_result.report, realised)


def _gates(night: _Night, tracking_uri: str) -> tuple[gates.GateResult, list[dict], str | None]:
    """Enough clients scored, the drift report and the realised performance of earlier lists, before any
    publication. A list that scores no client or too few stops at once (nothing to compare or grade)."""
    p, config = night.portfolio, night.config
    coverage = gates.coverage_gate(night.out, int(night.record.clients_scored or 0), night.day, config)
    night.record.published_clients_scored = coverage.report
    if coverage.stop:
        raise GateStop(" | ".join(coverage.stop))
    with night.timer("drift"):
        drift_result = gates.drift_gate(night.out, p.counter.profiles, p.counter.counts, config)
    with night.timer("monitoring"):
        # earlier lists are graded at the team's capacity (at 5% of their clients when no capacity is set)
        capacity = night.options.capacity or GRADED_SHARE
        monitored = gates.monitoring_gate(night.out, p.cutoff, p.churn(), night.horizon, config, capacity,
                                          night.model.version, has_churn_table="churn" in p.inputs.reports,
                                          data_end=p.data_end)
    stop = drift_result.stop + monitored.stop
    run_id = log_scoring_run(config, tracking_uri, night.record, drift_result.report, monitored.report, night.out,
                             stopped=bool(stop))
    if stop:
        raise GateStop(" | ".join(stop))
    return drift_result, monitored.report, run_id


def _reasons(listed: pd.DataFrame, portfolio: Portfolio, model: LoadedModel, options: ListOptions
             ) -> tuple[risk_list.Explained, pd.DataFrame]:
    """Reasons, context and the playbook's facts for the listed rows only, in list order; the engine
    reads back just those rows."""
    ids = listed["client_id"].to_numpy(dtype=object)
    rows = portfolio.rows_of(ids)
    if not len(rows):
        return risk_list.Explained.none(len(ids)), client_facts(rows).reindex(list(ids))
    explained = risk_list.explain(rows, model.bundle, options.lang, options.glossary)
    at = pd.Series(np.arange(len(rows)), index=rows["client_id"].astype(str).to_numpy())[list(ids)].to_numpy()
    facts = client_facts(rows).set_axis(rows["client_id"].astype(str).to_numpy()).reindex(list(ids))
    return risk_list.Explained([explained.reasons[k] for k in at], [explained.context[k] for k in at]), facts


def _publish(night: _Night, listed: pd.DataFrame, scored: pd.DataFrame, summary: ListSummary,
             drift_result: gates.GateResult) -> dict[str, Path]:
    out, record, sc = night.out, night.record, night.config.scoring
    parts_folder = None
    if night.portfolio.parts_url is not None:  # the Dask engine's partitioned list: moved in when on this machine
        local = Path(night.portfolio.parts_url)
        if local.is_absolute() and local.is_dir():
            parts_folder = local
            record.partitioned_list = str(out / runs.CURRENT / local.name)
        else:
            record.partitioned_list = night.portfolio.parts_url
    manifest = {**record.as_manifest(), "status": "ok", "exit_code": 0}
    table = None if drift_result.report is None else drift_result.report.table
    publication = runs.Publication(night.day, listed, scored, summary, night.options.lang, table, night.horizon,
                                   night.model.version, manifest, parts_folder)
    return runs.publish_run(out, publication, sc.keep_runs, sc.keep_history_days)


def _result(night: _Night, listed: pd.DataFrame, paths: dict[str, Path], summary: ListSummary, report,
            realised: list[dict]) -> dict[str, Any]:
    record = night.record
    return {
        "as_of": night.day,
        "model_uri": record.model_uri,
        "model_version": record.model_version,
        "partitions": record.partitions,
        "engine": night.config.engine.kind,
        "partitioned_list": record.partitioned_list,
        "clients_scored": record.clients_scored,
        "clients_listed": record.clients_listed,
        "outputs": {k: str(v) for k, v in paths.items()},
        "summary": summary.to_dict(),
        "rows": {name: {"rows_in": r.rows_in, "rows_used": r.rows_used, "rows_quarantined": r.rows_quarantined}
                 for name, r in night.portfolio.inputs.reports.items()},
        "inputs": record.inputs,
        "input_fingerprint": record.input_fingerprint,
        "drift": None if report is None else {"stop": report.stop, "messages": report.messages},
        "monitoring": realised,
        "timings_s": record.timings_s,
        "top": listed.head(5)[["client_id", "churn_probability"]].to_dict(orient="records"),
    }
