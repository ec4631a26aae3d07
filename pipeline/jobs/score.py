"""The nightly scoring job: bounded memory, gates, atomic publication, history, monitoring.

An output folder holds:

    risk_list.parquet / .csv / .xlsx, risk_report.html   links into current/
    current -> runs/<run>            the published set, switched by one atomic rename
    runs/<run>/                      each published run: list files, scores, drift report, manifest
    history/risk_list_<as_of>.parquet, history/scores_<as_of>.parquet   one per published day
    manifest.json                    the latest attempt, whatever its outcome
    drift_report.csv                 the latest attempt's drift report
    monitoring.csv                   realised performance of earlier lists once their horizon passed
    quarantine/<table>.csv           rows the latest attempt set aside, with the reason

A run writes into runs/.tmp-<run>, renames it to runs/<run> when complete, then repoints
`current`: a run killed at any moment leaves the previous set in place and no partial file.
"""

from __future__ import annotations

import fcntl
import filecmp
import json
import logging
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd

from features import build_features
from features.cutoffs import latest_date
from features.tables import Tables
from features.errors import ContractError, GateStop
from models import drift, monitoring, risk_list
from models.bundle import ModelBundle
from models.playbook import load_playbook
from models.risk_list import ListOptions
from models.segments import monthly_values
from pipeline.exports import writers as exports
from pipeline.data import contract, reading
from pipeline.data import partitions
from pipeline.tracking import registry
from pipeline.config import AppConfig
from pipeline.progress import Timer, steps

log = logging.getLogger(__name__)

DEFAULT_PLAYBOOK = Path(__file__).resolve().parents[2] / "configs" / "playbook.yaml"
LOCK_FILE = ".churn.lock"
MANIFEST = "manifest.json"
DRIFT_REPORT = "drift_report.csv"
MONITORING = "monitoring.csv"
CURRENT = "current"
RUNS = "runs"
HISTORY = "history"
WORK = ".work"
STAGING_PREFIX = ".tmp-"
SCORES = "scores.parquet"
SCORE_COLUMNS = ("client_id", "rank", "churn_probability", "expected_value_at_risk")


@contextmanager
def exclusive(out: Path):
    """One run at a time per output folder: a second run fails at once instead of interleaving."""
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ContractError(f"another churn run ({holder}) is writing to this output folder; wait for it to "
                            f"finish or use another --out", file=str(out)) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def score(data: Path | str, *, out: Path, config: AppConfig, tracking_uri: str, model_uri: str | None = None,
          as_of_date: date | None = None, sort: str | None = None, capacity: int | None = None,
          lang: str | None = None, partition_clients: int | None = None) -> dict[str, Any]:
    """Score under the folder's lock and leave a manifest of the run, whether it worked or not."""
    out = Path(out)
    with exclusive(out):
        state: dict[str, Any] = {"command": "score", "data": data_location(data), "engine": config.engine.kind,
                                 "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                 "pid": os.getpid()}
        # the manifest always describes the latest attempt: a run killed outright stays "running"
        _write_manifest(out, {**state, "status": "running", "exit_code": None})
        try:
            result = _score(data if is_url(data) else Path(data), out=out, config=config, tracking_uri=tracking_uri,
                            model_uri=model_uri, as_of_date=as_of_date, sort=sort, capacity=capacity, lang=lang,
                            partition_clients=partition_clients, state=state)
        except BaseException as exc:
            _clean_dask_work(state, published=False)
            code = (3 if isinstance(exc, GateStop) else 2 if isinstance(exc, ContractError)
                    else 130 if isinstance(exc, KeyboardInterrupt)
                    else exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1)
            state.update(status="stopped" if code == 3 else "failed", exit_code=code,
                         error=f"{type(exc).__name__}: {exc}")
            _write_manifest(out, state)
            raise
        finally:
            shutil.rmtree(out / WORK, ignore_errors=True)
        _clean_dask_work(state, published=True)
        state.update(status="ok", exit_code=0)
        _write_manifest(out, state)
    return result


def _clean_dask_work(state: dict[str, Any], published: bool) -> None:
    """What the Dask engine's workers wrote outside the output folder: all of it after a failed run,
    the features after a published one (its partitioned list stays, the manifest says where)."""
    work = state.get("dask_work")
    if not work:
        return
    from pipeline.engines import dask_engine
    try:
        dask_engine.remove(f"{work}/{dask_engine.FEATURE_PARTS}" if published else work)
    except Exception as exc:  # noqa: BLE001 - a leftover is worth a warning, not the night's list
        log.warning("could not remove the Dask work folder %s (%s: %s)", work, type(exc).__name__, exc)


def is_url(data: Path | str) -> bool:
    """A data location given as an fsspec URL (s3://, file://, ...) rather than a local folder."""
    return "://" in str(data)


def data_location(data: Path | str) -> str:
    """A data folder as manifests and runs record it: absolute when local, the URL as given otherwise."""
    return str(data) if is_url(data) else str(Path(data).resolve())


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    manifest = {**manifest, "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
    publish_file(out / MANIFEST, text.encode("utf-8"))


def publish_file(path: Path, content: bytes) -> None:
    """Write beside the target, then move into place: readers never see a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------ the run

@dataclass
class InputTotals:
    """Validated input, one partition at a time; reports and quarantine for the whole run."""

    reports: dict[str, contract.TableReport] = field(default_factory=dict)
    rejected: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    churn: list[pd.DataFrame] = field(default_factory=list)

    def account(self, loaded: contract.LoadResult) -> None:
        for name, r in loaded.reports.items():
            total = self.reports.setdefault(name, contract.TableReport(name, r.file, 0, 0, 0, {}, r.sha256))
            total.rows_in += r.rows_in
            total.rows_used += r.rows_used
            total.rows_quarantined += r.rows_quarantined
            for reason, count in r.reasons.items():
                total.reasons[reason] = total.reasons.get(reason, 0) + count
        for name, frame in loaded.rejected.items():
            if len(frame):
                self.rejected.setdefault(name, []).append(frame)

    def finish(self, quarantine_dir: Path, max_share: float) -> None:
        """Write quarantine in source order and stop when a table rejects too much (as one pass does)."""
        failures = []
        self.write_quarantine(quarantine_dir)
        for name, report in self.reports.items():
            target = quarantine_dir / f"{name}.csv"
            if report.rows_quarantined:
                top = contract.top_reasons(report)
                log.warning("%s: %d of %d rows set aside: %s", report.file, report.rows_quarantined, report.rows_in,
                            top)
                share = report.rows_quarantined / report.rows_in
                if share > max_share:
                    failures.append(f"{report.file}: {report.rows_quarantined} of {report.rows_in} rows ({share:.1%}) "
                                    f"break the contract, above max_rejected_share {max_share:.1%}: {top}; see "
                                    f"{target}")
        clients = self.reports.get("clients")
        if clients is not None and not clients.rows_in:
            raise ContractError("has no rows", file=clients.file)
        if clients is not None and not clients.rows_used:
            raise ContractError(f"has no usable rows: all {clients.rows_in} break the contract "
                                f"({contract.top_reasons(clients)})", file=clients.file, count=clients.rows_in)
        if failures:
            raise ContractError(" | ".join(failures))

    def stop_early(self, split: partitions.Split, quarantine_dir: Path, max_share: float) -> None:
        """Stop as soon as a table has set aside more than its share of all its rows (the count can
        only grow), rather than after featurising every partition."""
        for name, report in self.reports.items():
            total = split.sources[name].rows
            if total and report.rows_quarantined > max_share * total:
                self.write_quarantine(quarantine_dir)
                raise ContractError(
                    f"{report.file}: at least {report.rows_quarantined} of {total} rows "
                    f"({report.rows_quarantined / total:.1%}) break the contract, above max_rejected_share "
                    f"{max_share:.1%}: {contract.top_reasons(report)}; see {quarantine_dir / (name + '.csv')} (stopped "
                    f"after {report.rows_in} rows)")

    def write_quarantine(self, quarantine_dir: Path) -> None:
        for name, report in self.reports.items():
            target = quarantine_dir / f"{name}.csv"
            if report.rows_quarantined:
                rows = pd.concat(self.rejected[name]).sort_values(reading.ROW_NUMBER, kind="mergesort")
                target.parent.mkdir(parents=True, exist_ok=True)
                publish_file(target, rows.drop(columns=reading.ROW_NUMBER).to_csv(index=False).encode("utf-8"))
            elif target.exists():
                target.unlink()

    def fingerprint(self) -> str:
        return contract.LoadResult(tables=None, reports=self.reports).fingerprint  # type: ignore[arg-type]


class _Collected:
    """What the partitions leave for the portfolio-wide steps."""

    def __init__(self, profiles: dict) -> None:
        self.inputs = InputTotals()
        self.counter = drift.DriftCounter(profiles)
        self.cores: list[pd.DataFrame] = []
        self.features: pd.DataFrame | None = None  # a single pass keeps its features for the reasons


def _validated(split: partitions.Split, p: int) -> contract.LoadResult:
    sources = split.partition(p)
    extra = {name: reasons for name, (frame, _, _) in sources.items()
             if (reasons := split.reasons_for(name, frame[reading.ROW_NUMBER])) is not None}
    return contract.validate(sources, quarantine_dir=None, max_rejected_share=1.0, keep_rejected=True,
                             extra_reasons=extra)


def _score(data: Path, *, out: Path, config: AppConfig, tracking_uri: str, model_uri: str | None,
           as_of_date: date | None, sort: str | None, capacity: int | None, lang: str | None,
           partition_clients: int | None, state: dict[str, Any]) -> dict[str, Any]:
    timer = Timer()
    state["timings_s"] = timer.stages
    sc = config.scoring
    options = ListOptions(sort=sort or sc.sort, capacity=capacity or sc.capacity, lang=lang or sc.lang)
    playbook = load_playbook(Path(sc.playbook) if sc.playbook else DEFAULT_PLAYBOOK)
    _clean_leftovers(out)
    registry.configure(tracking_uri)
    reg = config.registry
    uri = model_uri or f"models:/{reg.model_name}@{reg.champion_alias}"
    with timer("load_model"):
        model = registry.load_model(uri)
    bundle = model.bundle
    state.update(model_uri=uri, model_version=model.version)
    dask = config.engine.kind == "dask"
    n = 0 if dask else partitions.partitions_needed(data, partition_clients or sc.partition_clients,
                                                    sc.partition_rows)
    state["partitions"] = n
    profiles = drift.profiles_of(bundle.info.get("drift_reference"))
    spill = out / WORK / "features"
    run = _Collected(profiles)

    def score_part(tables: Tables, cutoff: pd.Timestamp, p: int) -> None:
        with timer("features"):
            features = build_features(tables, [cutoff], bundle.spec, missing=sc.missing_features)
        with timer("predict"):
            probability = bundle.predict(features)
        with timer("drift"):
            run.counter.add(features.assign(churn_probability=probability))
        with timer("list"):
            run.cores.append(risk_list.score_core(features, probability, monthly_values(tables.clients),
                                                  config.segments))
        if n == 1:
            run.features = features
        elif len(features):  # an empty partition has nothing to explain
            with timer("explain"):
                spill.mkdir(parents=True, exist_ok=True)
                features.to_parquet(spill / f"part-{p:05d}.parquet", index=False)
        if tables.churn is not None and len(tables.churn):
            run.inputs.churn.append(tables.churn[["client_id", "churned_at"]].assign(
                client_id=lambda f: f["client_id"].astype(str)))

    rows_of: Any = None  # features of given clients, read back for the reasons
    dask_parts = None    # the Dask engine's partitioned risk list
    if dask:
        cutoff, n, rows_of, dask_parts = _collect_dask(data, out, config, bundle, profiles, as_of_date,
                                                       partition_clients, state, timer, run)
        state["partitions"] = n
    elif n == 1:
        with timer("read"):
            loaded = contract.load_folder(data, quarantine_dir=out / "quarantine",
                                          max_rejected_share=config.data.max_rejected_share, require_churn=False)
        run.inputs.account(loaded)
        state["inputs"] = _inputs_of(run.inputs)
        cutoff = pd.Timestamp(as_of_date) if as_of_date else latest_date(loaded.tables)
        state["as_of"] = str(cutoff.date())
        score_part(loaded.tables, cutoff, 0)
        del loaded
    else:
        log.info("scoring in %d hash partitions of about %d clients", n, partition_clients or sc.partition_clients)
        with timer("split"):
            split = partitions.split(data, out / WORK / "split", n, require_churn=False)

        def score_partitions(cutoff: pd.Timestamp) -> pd.Timestamp | None:
            """Score every partition at `cutoff`; return the latest day the checked rows hold."""
            latest = []
            with steps("scoring partitions", n) as advance:
                for p in range(n):
                    with timer("read"):
                        loaded = _validated(split, p)
                    run.inputs.account(loaded)
                    state["inputs"] = _inputs_of(run.inputs)
                    run.inputs.stop_early(split, out / "quarantine", config.data.max_rejected_share)
                    try:
                        latest.append(latest_date(loaded.tables))
                    except ContractError:
                        pass
                    score_part(loaded.tables, cutoff, p)
                    del loaded
                    advance(f"partition {p + 1}")
            return max(latest) if latest else None

        if as_of_date is not None:
            cutoff = pd.Timestamp(as_of_date)
            score_partitions(cutoff)
        else:
            # The split saw the latest valid date of every row; a row set aside for another reason
            # (unknown client, say) may hold it, so the checked rows have the last word: when they
            # end earlier, the partitions are scored again at their true latest day.
            if split.latest is None:
                raise ContractError("no dated row in any table, cannot tell the latest date", file="clients")
            cutoff = split.latest
            exact = score_partitions(cutoff)
            if exact is None:
                raise ContractError("no dated row in any table, cannot tell the latest date", file="clients")
            if exact != cutoff:
                log.info("the latest valid row is dated %s, not %s: scoring again as of %s", exact.date(),
                         cutoff.date(), exact.date())
                run = _Collected(profiles)
                cutoff = exact
                score_partitions(cutoff)
        state["as_of"] = str(cutoff.date())
        split.remove()
        run.inputs.finish(out / "quarantine", config.data.max_rejected_share)
        state["inputs"] = _inputs_of(run.inputs)
        rows_of = _spilled(spill)
    inputs, cores, counter, kept_features = run.inputs, run.cores, run.counter, run.features
    day = str(cutoff.date())
    state["input_fingerprint"] = inputs.fingerprint()

    with timer("list"):
        scored = risk_list.order(risk_list.score_frame_of(pd.concat(cores, ignore_index=True), config.segments),
                                 options.sort)
        del cores[:]
        listed = risk_list.select(scored, options)
    state.update(clients_scored=int(len(scored)), clients_listed=int(len(listed)))

    # gates: the drift report and the realised performance of earlier lists, before any publication
    with timer("drift"):
        report = drift.assess(profiles, counter.counts, config.drift) if profiles else None
        _write_drift_report(out, report)
    with timer("monitoring"):
        horizon = int(bundle.info.get("horizon_days", config.training.horizon_days))
        if "churn" in inputs.reports:
            churn = pd.concat(inputs.churn, ignore_index=True) if inputs.churn else None
            realised, breaches = _monitor(out, cutoff, churn, horizon, config, options, model.version)
        else:  # the data does not say who left: earlier lists cannot be graded tonight
            realised, breaches = [], []
    stop = _gate_messages(report, breaches, config)
    run_id = _log_scoring_run(config, tracking_uri, state, report, realised, out, stopped=bool(stop))
    if stop:
        raise GateStop(" | ".join(stop))

    with timer("explain"):
        reasons = _reasons(listed, kept_features, rows_of, bundle, options.lang)
    with timer("list"):
        listed, scored, summary = risk_list.finish(listed, scored, reasons, bundle, config.segments, playbook,
                                                   _previous_list(out, day), day, model.version, options)
    with timer("write"):
        paths = _publish_run(out, day, listed, scored, summary, options.lang, report, horizon, model.version,
                             sc.keep_runs, state, sc.keep_history_days, dask_parts)
    _tag_run(tracking_uri, run_id, "status", "published")
    log.info("scored %d clients active at %s with %s (version %s); %d listed", len(scored), day, uri,
             model.version, len(listed))
    state["outputs"] = {Path(p).name: reading.sha256_of_file(Path(p)) for p in paths.values()}
    return {
        "as_of": day,
        "model_uri": uri,
        "model_version": model.version,
        "partitions": n,
        "engine": config.engine.kind,
        "partitioned_list": state.get("partitioned_list"),
        "clients_scored": int(len(scored)),
        "clients_listed": int(len(listed)),
        "outputs": {k: str(v) for k, v in paths.items()},
        "summary": summary,
        "rows": {name: {"rows_in": r.rows_in, "rows_used": r.rows_used, "rows_quarantined": r.rows_quarantined}
                 for name, r in inputs.reports.items()},
        "inputs": state["inputs"],
        "input_fingerprint": state["input_fingerprint"],
        "drift": None if report is None else {"stop": report.stop, "messages": report.messages},
        "monitoring": realised,
        "timings_s": timer.stages,
        "top": listed.head(5)[["client_id", "churn_probability"]].to_dict(orient="records"),
    }


def _inputs_of(inputs: InputTotals) -> dict[str, Any]:
    return {name: {"file": r.file, "sha256": r.sha256, "rows_in": r.rows_in, "rows_used": r.rows_used,
                   "rows_quarantined": r.rows_quarantined, "reasons": r.reasons}
            for name, r in inputs.reports.items()}


def _reasons(listed: pd.DataFrame, kept: pd.DataFrame | None, rows_of, bundle: ModelBundle, lang: str
             ) -> list[list]:
    """Reasons for the listed rows only, in list order; partitioned runs read back just those rows."""
    ids = listed["client_id"].to_numpy(dtype=object)
    if kept is not None:
        rows = kept.set_index(kept["client_id"].astype(str)).loc[ids].reset_index(drop=True)
        return risk_list.explain(rows, bundle, lang)
    rows = rows_of(ids)
    by_id = dict(zip(rows["client_id"].astype(str), risk_list.explain(rows, bundle, lang))) if len(rows) else {}
    return [by_id[i] for i in ids]


def _spilled(spill: Path):
    """Reads the features of given clients back from the partitions' spilled files (a row filter)."""
    from pipeline.engines import dask_engine
    def rows_of(ids: np.ndarray) -> pd.DataFrame:
        return dask_engine.read_rows(str(spill), ids) if spill.is_dir() else pd.DataFrame({"client_id": []})
    return rows_of


def _collect_dask(data, out: Path, config: AppConfig, bundle: ModelBundle, profiles: dict, as_of_date: date | None,
                  partition_clients: int | None, state: dict[str, Any], timer: Timer, run: "_Collected"):
    """The Dask engine's partitions, checked, featurised and scored on the cluster; back here come
    the reports, quarantine, per-client list columns and drift counts, as the local engine's."""
    from pipeline.engines import dask_engine
    sc, engine = config.scoring, config.engine
    work = engine.work_url.rstrip("/") + f"/churn-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}" \
        if engine.work_url else str((out / WORK / "dask").resolve())
    state["dask_work"] = work  # score() removes what the run leaves there, whatever its outcome
    with dask_engine.connect(engine) as client:
        with timer("read"):
            parts = dask_engine.checked_partitions(client, data, require_churn=False,
                                                   clients_per_partition=partition_clients or sc.partition_clients,
                                                   rows_per_partition=sc.partition_rows)
        for loaded in parts.reports:
            run.inputs.account(loaded)
        state["inputs"] = _inputs_of(run.inputs)
        run.inputs.finish(out / "quarantine", config.data.max_rejected_share)
        cutoff = pd.Timestamp(as_of_date) if as_of_date else dask_engine.latest(client, parts)
        state["as_of"] = str(cutoff.date())
        with timer("features"):
            scored = dask_engine.score(client, parts, cutoff, bundle, segments=config.segments, profiles=profiles,
                                       missing=sc.missing_features, work=work,
                                       has_monthly_value="monthly_value" in parts.sources["clients"].frame.columns)
        churn = dask_engine.churn_rows(client, parts)
    run.cores.append(scored.core)
    for column, counts in scored.counts.items():
        run.counter.counts[column] = run.counter.counts[column] + counts
    if churn is not None:
        run.inputs.churn.append(churn)
    return cutoff, parts.n, lambda ids: dask_engine.read_rows(scored.features_url, ids), scored


def _gate_messages(report, breaches: list[str], config: AppConfig) -> list[str]:
    stop = []
    if report is not None:
        drifted = bool((report.table["status"] != "ok").any())
        for message in report.messages:
            log.log(logging.WARNING if drifted else logging.INFO, "drift: %s", message)
        if report.stop:
            stop.append("stopped by the drift gate: " + "; ".join(report.messages)
                        + f" (see {DRIFT_REPORT}; thresholds under drift: in the config)")
    for message in breaches:
        log.warning("monitoring: %s", message)
    if breaches and config.monitoring.on_breach == "stop":
        stop.append("stopped by monitoring: " + "; ".join(breaches) + f" (see {MONITORING})")
    return stop


# ----------------------------------------------------------------------------- drift and monitoring

def _write_drift_report(out: Path, report) -> None:
    if report is None:
        log.warning("the model stores no drift reference (trained before drift reports existed): retrain to "
                    "enable the drift gate")
        (out / DRIFT_REPORT).unlink(missing_ok=True)
        return
    publish_file(out / DRIFT_REPORT, report.table.to_csv(index=False).encode("utf-8"))


def _monitor(out: Path, cutoff: pd.Timestamp, churn: pd.DataFrame | None, horizon: int, config: AppConfig,
             options: ListOptions, model_version: str) -> tuple[list[dict], list[str]]:
    """Grade every earlier published list whose horizon has passed and that is not graded yet.

    Returns the new rows and the breaches that decide tonight: those of the latest graded list
    of the model scoring tonight, new or not, so a stop holds night after night until the model
    changes (a retrained or promoted champion starts clean).
    """
    path = out / MONITORING
    existing = pd.read_csv(path, dtype={"list_as_of": str, "evaluated_at": str, "model_version": str}) \
        if path.exists() else None
    done = set() if existing is None else set(existing["list_as_of"].astype(str))
    capacity = options.capacity or config.evaluation.team_capacity
    figures, breaches = [], []
    for scores_path in sorted((out / HISTORY).glob("scores_*.parquet")):
        list_day = scores_path.stem.removeprefix("scores_")
        list_as_of = pd.Timestamp(list_day)
        if list_day in done or list_as_of >= cutoff:
            continue
        scores = pd.read_parquet(scores_path)
        list_horizon = int(scores["horizon_days"].iloc[0]) if "horizon_days" in scores and len(scores) else horizon
        if not monitoring.matured(list_as_of, list_horizon, cutoff):
            continue
        version = str(scores["model_version"].iloc[0]) if "model_version" in scores and len(scores) else ""
        row = monitoring.realised(scores[["client_id", "churn_probability", "rank"]], churn, list_as_of,
                                  list_horizon, cutoff, capacity, model_version=version)
        figures.append(row)
        existing = monitoring.append_row(existing, row)
        log.info("realised performance of the %s list: ROC AUC %.3f, precision at capacity %.3f, lift %.2f",
                 list_day, row["roc_auc"], row["precision_at_capacity"], row["lift_at_capacity"])
    if figures:
        publish_file(path, existing.to_csv(index=False).encode("utf-8"))
    mine = None if existing is None else existing[existing["model_version"].astype(str) == str(model_version)]
    if mine is not None and len(mine):
        breaches = monitoring.breaches(mine.iloc[-1].to_dict(), config.monitoring)
    return figures, breaches


def _tag_run(tracking_uri: str, run_id: str | None, key: str, value: str) -> None:
    if run_id is None:
        return
    try:
        mlflow.MlflowClient(tracking_uri=tracking_uri).set_tag(run_id, key, value)
    except Exception as exc:  # noqa: BLE001 - as in _log_scoring_run
        log.warning("could not tag the scoring run in MLflow (%s: %s)", type(exc).__name__, exc)


def _log_scoring_run(config: AppConfig, tracking_uri: str, state: dict[str, Any], report, realised: list[dict],
                     out: Path, stopped: bool) -> str | None:
    """The run in MLflow (experiment `<experiment>-scoring`): drift and realised figures. A tracking
    server that is down must not cost the night's list, so a failure here is a warning."""
    try:
        experiment_id = registry.ensure_experiment(f"{config.registry.experiment}-scoring", tracking_uri)
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"score {state.get('as_of')}") as run:
            # "stopped" by a gate, else "scored" until the list is published ("published")
            mlflow.set_tags({"kind": "scoring", "as_of": state.get("as_of"), "model_uri": state.get("model_uri"),
                             "model_version": state.get("model_version"), "output_folder": str(out.resolve()),
                             "status": "stopped" if stopped else "scored"})
            metrics = {"clients_scored": state.get("clients_scored", 0),
                       "clients_listed": state.get("clients_listed", 0)}
            if report is not None:
                table = report.table.set_index("column")
                metrics["drift_score_psi"] = float(table["psi"].get("churn_probability", np.nan))
                features = table.drop(index="churn_probability", errors="ignore")["psi"]
                metrics["drift_max_feature_psi"] = float(features.max()) if len(features) else 0.0
                metrics["drift_features_warn"] = int((table["status"] != "ok").sum())
                registry.log_frame(report.table, DRIFT_REPORT.replace(".csv", ".parquet"))
                mlflow.log_text(report.table.to_csv(index=False), DRIFT_REPORT)
            for row in realised:
                for key in ("roc_auc", "precision_at_capacity", "lift_at_capacity", "recall_at_capacity"):
                    metrics[f"realised_{key}_{row['list_as_of']}"] = row[key]
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v is not None and np.isfinite(float(v))})
        return run.info.run_id
    except Exception as exc:  # noqa: BLE001 - see docstring
        log.warning("could not log the scoring run to MLflow (%s: %s); the outputs are unaffected",
                    type(exc).__name__, exc)
        return None


# -------------------------------------------------------------------------------- publication

def _previous_list(out: Path, as_of: str) -> pd.DataFrame | None:
    """The latest list published for an earlier day (a rerun for the same day compares alike)."""
    earlier = sorted(p for p in (out / HISTORY).glob("risk_list_*.parquet")
                     if p.stem.removeprefix("risk_list_") < as_of)
    return pd.read_parquet(earlier[-1], columns=["client_id", "rank"]) if earlier else None


def _clean_leftovers(out: Path) -> None:
    """What a killed run may have left: its staging folder, temporary files, its work folder, a
    published run whose history was not written yet."""
    shutil.rmtree(out / WORK, ignore_errors=True)
    _record_history(out)
    runs = out / RUNS
    if runs.is_dir():
        for folder in runs.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(folder, ignore_errors=True)
    for folder in (out, out / HISTORY, out / "quarantine"):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _publish_run(out: Path, day: str, listed: pd.DataFrame, scored: pd.DataFrame, summary: dict, lang: str,
                 report, horizon: int, model_version: str, keep_runs: int, state: dict[str, Any],
                 keep_history_days: int, dask_parts=None) -> dict[str, Path]:
    """Stage the whole set, then switch `current` to it in one rename; history follows the switch."""
    _adopt_legacy_files(out)
    name = f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}_{day}"
    staging = out / RUNS / f"{STAGING_PREFIX}{name}"
    staging.mkdir(parents=True)
    written = exports.write_outputs(listed, scored, summary, staging, lang)
    scores = scored[list(SCORE_COLUMNS)].assign(as_of=day, horizon_days=horizon, model_version=str(model_version))
    scores.to_parquet(staging / SCORES, index=False)
    if report is not None:
        report.table.to_csv(staging / DRIFT_REPORT, index=False)
    if dask_parts is not None:  # the Dask engine's partitioned list: moved in when on this machine
        from pipeline.engines import dask_engine
        local = Path(dask_parts.parts_url)
        if local.is_absolute() and local.is_dir():
            shutil.move(local, staging / dask_engine.RISK_PARTS)
            state["partitioned_list"] = str(out / CURRENT / dask_engine.RISK_PARTS)
        else:
            state["partitioned_list"] = dask_parts.parts_url
    (staging / MANIFEST).write_text(json.dumps({**state, "status": "ok", "exit_code": 0}, indent=2, sort_keys=True,
                                               default=str) + "\n", encoding="utf-8")
    _fsync_tree(staging)
    os.rename(staging, out / RUNS / name)
    _fsync_folder(out / RUNS)
    _switch(out, name, [p.name for p in written.values()])
    _record_history(out)
    _prune_runs(out, keep_runs)
    _prune_history(out, pd.Timestamp(day) - pd.Timedelta(days=keep_history_days))
    return {kind: out / path.name for kind, path in written.items()}


def _record_history(out: Path) -> None:
    """history/<kind>_<day> of the published run. Also run at the start of every run, so a run killed
    between its switch and its history writes is rolled forward by the next one."""
    current = out / CURRENT
    if not current.is_symlink() or not current.exists():
        return
    day = os.readlink(current).rsplit("_", 1)[-1]
    try:
        pd.Timestamp(day)
    except ValueError:  # a run adopted from files of the previous layout has no day
        return
    history = out / HISTORY
    history.mkdir(parents=True, exist_ok=True)
    for source, kept in ((exports.FILES["parquet"], f"risk_list_{day}.parquet"), (SCORES, f"scores_{day}.parquet")):
        if (current / source).exists() and not ((history / kept).exists()
                                                 and filecmp.cmp(current / source, history / kept, shallow=False)):
            publish_file(history / kept, (current / source).read_bytes())


def _prune_history(out: Path, before: pd.Timestamp) -> None:
    for path in (out / HISTORY).glob("*_*.parquet"):
        try:
            day = pd.Timestamp(path.stem.rsplit("_", 1)[-1])
        except ValueError:
            continue
        if day < before:
            path.unlink(missing_ok=True)


def _adopt_legacy_files(out: Path) -> None:
    """An output folder written before run folders existed holds the list files themselves: they
    become a run of their own, so the switch to the new list is as atomic as any other."""
    legacy = [name for name in exports.FILES.values() if (out / name).is_file() and not (out / name).is_symlink()]
    if not legacy or (out / CURRENT).exists():
        return
    name = f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}_legacy"
    staging = out / RUNS / f"{STAGING_PREFIX}{name}"
    staging.mkdir(parents=True)
    for file in legacy:
        shutil.copy2(out / file, staging / file)
    _fsync_tree(staging)
    os.rename(staging, out / RUNS / name)
    _fsync_folder(out / RUNS)
    _switch(out, name, legacy)  # each file replaced by a link to the same bytes


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            _fsync_tree(path)
            continue
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_folder(folder)


def _replace_link(link: Path, target: Path) -> None:
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _switch(out: Path, run: str, files: list[str]) -> None:
    """Point `current` at the new run (atomic), and each top-level list file through `current`."""
    _replace_link(out / CURRENT, Path(RUNS) / run)
    for name in files:
        _replace_link(out / name, Path(CURRENT) / name)
    _fsync_folder(out)


def _prune_runs(out: Path, keep: int) -> None:
    current = os.readlink(out / CURRENT)
    runs = sorted(p for p in (out / RUNS).iterdir() if p.is_dir() and not p.name.startswith(STAGING_PREFIX))
    for folder in runs[:-keep]:
        if str(Path(RUNS) / folder.name) != current:
            shutil.rmtree(folder, ignore_errors=True)
