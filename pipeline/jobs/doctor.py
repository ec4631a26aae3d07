"""The doctor job: what a nightly `churn score` would use and what it would miss, in at most 24 lines.

For the person looking at a failed run at 3 a.m.: which MLflow store (and why that one), whether it
answers, which versions hold the champion and challenger aliases, what of the contract the data
folder holds, and the output folder's last manifest and lock. Facts are gathered at the edges
(`store_facts`, `table_facts`, `out_facts`) into small frozen records without writing anything (a
missing sqlite store is not created); the checks that turn them into lines and problems are pure.
A problem is something a nightly score needs and would not find: the CLI exits 2 naming it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.errors import ContractError
from features.tables import REQUIRED_COLUMNS, TABLE_NAMES
from pipeline.config import AppConfig, RegistryConfig
from pipeline.data import reading
from pipeline.publish.lock import LOCK_FILE
from pipeline.publish.runs import MANIFEST

MAX_LINES = 24
OK, WARN, FAIL = "ok  ", "warn", "FAIL"
HEALTH_TIMEOUT_S = 5.0
ROC_AUC_METRICS = ("validation_roc_auc", "roc_auc")  # the training run's metric, then an older name


@dataclass(frozen=True)
class Check:
    """One line of the report; `problem` says what a nightly score would miss (None: nothing)."""

    status: str
    topic: str
    text: str
    problem: str | None = None

    @property
    def line(self) -> str:
        return f"[{self.status}] {self.topic:<9} {self.text}"


@dataclass(frozen=True)
class StoreFacts:
    uri: str
    source: str                                   # how the URI was chosen
    model: str
    error: str | None = None                      # None: the store answered
    versions: int = 0                             # registered versions of `model`
    aliases: dict[str, tuple[str, float | None]] = field(default_factory=dict)  # alias -> (version, ROC AUC)
    needed_tables: tuple[str, ...] | None = None  # tables the champion's features read (None: unknown)


@dataclass(frozen=True)
class TableFacts:
    name: str
    file: str | None = None          # as found in the folder (None: absent)
    rows: int | None = None
    columns: tuple[str, ...] = ()    # trimmed, lower case, as the contract compares them
    error: str | None = None         # the file is there but cannot be read
    folder_only: bool = False        # only a <name>/ or <name>.parquet/ folder, which the local engine skips


@dataclass(frozen=True)
class OutFacts:
    folder: str
    exists: bool
    writable: bool = True
    manifest: dict[str, Any] | None = None
    manifest_error: str | None = None
    lock_holder: str | None = None   # None: no run holds the lock


# ---- pure checks -------------------------------------------------------------------------------

def store_checks(facts: StoreFacts, reg: RegistryConfig) -> list[Check]:
    where = f"{facts.uri} ({facts.source})"
    if facts.error:
        return [Check(FAIL, "store", f"{where}: {facts.error}", f"MLflow store {facts.uri}: {facts.error}")]
    checks = [Check(OK, "store", f"{where}: reachable")]
    if not facts.versions:
        problem = f"no registered model '{facts.model}' in {facts.uri} (train one: churn train --data DIR)"
        return [*checks, Check(FAIL, "model", problem, problem)]
    held = [f"{alias} v{version}" + (f" (ROC AUC {auc:.3f})" if auc is not None else "")
            for alias, (version, auc) in facts.aliases.items()]
    text = f"{facts.model}: {facts.versions} version(s); " + ("; ".join(held) or "no alias")
    if reg.champion_alias not in facts.aliases:
        problem = (f"model '{facts.model}' in {facts.uri} has no '{reg.champion_alias}' alias "
                   f"(churn promote VERSION, or score with --model)")
        return [*checks, Check(FAIL, "model", text, problem)]
    return [*checks, Check(OK, "model", text)]


def table_check(facts: TableFacts, needed: tuple[str, ...] | None) -> Check:
    """One table: found or not, rows, required columns; whether tonight's score needs it."""
    name = facts.name
    if facts.file is None:
        if name == "clients" or (needed is not None and name in needed):
            why = "required" if name == "clients" else "the champion's features read it (score stops, exit 3)"
            where = " (a folder: only --engine dask reads it)" if facts.folder_only else ""
            return Check(FAIL, name, f"not found{where}: {why}", f"{name} table not found{where}: {why}")
        unknown = " (the champion may read it: unknown)" if needed is None else ", the champion does not read it"
        note = "only needed to train and to grade past lists" if name == "churn" else f"optional{unknown}"
        return Check(WARN if needed is None and name != "churn" else OK, name, f"not found ({note})")
    if facts.error:
        return Check(FAIL, name, f"{facts.file}: {facts.error}", f"{facts.file}: {facts.error}")
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in facts.columns]
    rows = f"{facts.file}: {facts.rows:,} rows" if facts.rows is not None else facts.file
    if missing:
        problem = f"{facts.file}: required column(s) missing: {', '.join(missing)}"
        return Check(FAIL, name, f"{rows}; missing {', '.join(missing)}", problem)
    if name == "clients" and not facts.rows:
        return Check(FAIL, name, f"{rows}; no client", f"{facts.file}: has no rows")
    return Check(OK, name, f"{rows}; required columns present")


def data_checks(folder: str, found: bool, tables: list[TableFacts], needed: tuple[str, ...] | None) -> list[Check]:
    if not found:
        return [Check(FAIL, "data", f"{folder}: not found", f"data folder {folder} not found")]
    return [Check(OK, "data", folder), *(table_check(t, needed) for t in tables)]


def out_checks(facts: OutFacts) -> list[Check]:
    if not facts.exists:
        return [Check(OK, "out", f"{facts.folder}: no run yet (the first run creates it)")]
    if not facts.writable:
        problem = f"output folder {facts.folder} is not writable"
        return [Check(FAIL, "out", problem, problem)]
    checks = [_manifest_check(facts)]
    if facts.lock_holder:
        checks.append(Check(WARN, "lock", f"held by {facts.lock_holder}: a run is writing; another would exit 2"))
    else:
        checks.append(Check(OK, "lock", "free"))
    return checks


def _manifest_check(facts: OutFacts) -> Check:
    if facts.manifest_error:
        return Check(WARN, "out", f"{facts.folder}: {MANIFEST} {facts.manifest_error}")
    m = facts.manifest
    if m is None:
        return Check(OK, "out", f"{facts.folder}: no {MANIFEST} yet")
    text = (f"{facts.folder}: last run {m.get('status', '?')} (exit {m.get('exit_code')}) as of "
            f"{m.get('as_of', '?')}, finished {m.get('finished_at', '?')}")
    if m.get("status") == "ok":
        return Check(OK, "out", text)
    error = str(m.get("error") or "").splitlines()[0][:120] if m.get("error") else ""
    return Check(WARN, "out", text + (f": {error}" if error else ""))


def report(checks: list[Check]) -> dict[str, Any]:
    """The lines (at most MAX_LINES) and the one-line problem the CLI exits 2 with ('' when none)."""
    problems = [c.problem for c in checks if c.problem]
    verdict = (Check(OK, "verdict", "a nightly score has what it needs") if not problems else
               Check(FAIL, "verdict", f"{len(problems)} problem(s) a nightly score would hit"))
    lines = [c.line for c in [*checks, verdict]]
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES - 2], f"... {len(lines) - MAX_LINES + 1} more line(s)", lines[-1]]
    problem = "" if not problems else f"doctor: {problems[0]}" + (
        f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
    return {"lines": lines, "problem": problem, "problems": problems}


# ---- the edges: facts from the store, the data folder, the output folder ------------------------

def doctor(data: Path, out: Path | None, *, config: AppConfig, tracking_uri: str, source: str) -> dict[str, Any]:
    """The report for a nightly score of `data` into `out` against `tracking_uri`."""
    store = store_facts(tracking_uri, source, config.registry)
    data = Path(data)
    tables = [table_facts(data, name, config.engine.kind) for name in TABLE_NAMES] if data.is_dir() else []
    checks = [*store_checks(store, config.registry),
              *data_checks(str(data.resolve()), data.is_dir(), tables, store.needed_tables)]
    if out is not None:
        checks += out_checks(out_facts(Path(out).resolve()))
    return report(checks)


def store_facts(uri: str, source: str, reg: RegistryConfig) -> StoreFacts:
    """What the store holds, without creating it: a sqlite file that is not there is reported."""
    error = _unreachable(uri)
    if error:
        return StoreFacts(uri, source, reg.model_name, error=error)
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        versions = client.search_model_versions(f"name='{reg.model_name}'")
        if not versions:
            return StoreFacts(uri, source, reg.model_name)
        holders = dict(client.get_registered_model(reg.model_name).aliases or {})
    except Exception as exc:  # noqa: BLE001 - whatever stops the store answering is the finding itself
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return StoreFacts(uri, source, reg.model_name, error=f"does not answer ({message[:160]})")
    run_of = {str(v.version): v.run_id for v in versions}
    aliases = {alias: (str(holders[alias]), _roc_auc(client, run_of.get(str(holders[alias]))))
               for alias in (reg.champion_alias, reg.challenger_alias) if alias in holders}
    needed = None
    if reg.champion_alias in holders:
        try:
            needed = _needed_tables(uri, run_of.get(str(holders[reg.champion_alias])))
        except (MlflowException, OSError, ValueError):
            needed = None
    return StoreFacts(uri, source, reg.model_name, versions=len(versions), aliases=aliases, needed_tables=needed)


def _unreachable(uri: str) -> str | None:
    if uri.startswith("sqlite:///"):
        db = Path(uri[len("sqlite:///"):])
        return None if db.is_file() else f"no store file at {db} (a run here would start an empty store)"
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=HEALTH_TIMEOUT_S):
                return None
        except OSError as exc:
            return f"does not answer ({getattr(exc, 'reason', exc)})"
    return None


def _roc_auc(client, run_id: str | None) -> float | None:
    if not run_id:
        return None
    try:
        metrics = client.get_run(run_id).data.metrics
    except Exception:  # noqa: BLE001 - a run deleted from the store: the figure is unknown, not an error
        return None
    return next((float(metrics[m]) for m in ROC_AUC_METRICS if m in metrics), None)


def _needed_tables(uri: str, run_id: str | None) -> tuple[str, ...] | None:
    """The tables the champion's features read, from its training run's features.json."""
    if not run_id:
        return None
    from mlflow.artifacts import download_artifacts

    with contextlib.redirect_stderr(io.StringIO()):  # MLflow's "Downloading artifacts" bar says nothing here
        path = download_artifacts(run_id=run_id, artifact_path="features.json", tracking_uri=uri)
    records = json.loads(Path(path).read_text(encoding="utf-8"))
    return tuple(sorted({str(r["source"]) for r in records if r.get("source") in TABLE_NAMES}))


def table_facts(folder: Path, name: str, engine: str) -> TableFacts:
    """File, rows and columns of one table, read from the file's header and metadata only (a CSV is
    counted by streaming its first column)."""
    path = reading.find_table(folder, name)
    if path is None:
        folders = [folder / f"{name}.parquet", folder / name]
        if any(p.is_dir() for p in folders):
            return _parquet_folder_facts(next(p for p in folders if p.is_dir()), name, engine)
        return TableFacts(name)
    try:
        with reading.as_contract_errors(path):
            rows, columns = _parquet_shape(path) if path.suffix == ".parquet" else _csv_shape(path, name)
    except ContractError as exc:
        return TableFacts(name, path.name, error=str(exc).split(": ", 1)[-1])
    return TableFacts(name, path.name, rows, tuple(str(c).strip().lower() for c in columns))


def _parquet_shape(path: Path) -> tuple[int, list[str]]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    return handle.metadata.num_rows, list(handle.schema_arrow.names)


def _csv_shape(path: Path, name: str) -> tuple[int, list[str]]:
    import pyarrow.csv as pacsv

    layout = reading.csv_layout(path, name)
    parse, convert = reading.CsvLayout(layout.delimiter, layout.header, layout.header[:1]).options(name, False)
    batches = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding="utf8"), parse_options=parse,
                             convert_options=convert)
    return sum(batch.num_rows for batch in batches), layout.header


def _parquet_folder_facts(folder: Path, name: str, engine: str) -> TableFacts:
    if engine != "dask":
        return TableFacts(name, folder_only=True)
    files = sorted(folder.rglob("*.parquet"))
    if not files:
        return TableFacts(name, folder_only=True)
    try:
        with reading.as_contract_errors(files[0]):
            shapes = [_parquet_shape(f) for f in files]
    except ContractError as exc:
        return TableFacts(name, f"{folder.name}/", error=str(exc))
    columns = tuple(str(c).strip().lower() for c in shapes[0][1])
    return TableFacts(name, f"{folder.name}/ ({len(files)} files)", sum(s[0] for s in shapes), columns)


def out_facts(folder: Path) -> OutFacts:
    """The output folder's last manifest and whether a run holds its lock (the lock is only tried)."""
    if not folder.is_dir():
        return OutFacts(str(folder), exists=False)
    manifest, error = None, None
    path = folder / MANIFEST
    if path.is_file():
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            error = f"cannot be read ({exc})"
    return OutFacts(str(folder), True, os.access(folder, os.W_OK | os.X_OK), manifest, error, _lock_holder(folder))


def _lock_holder(folder: Path) -> str | None:
    path = folder / LOCK_FILE
    if not path.is_file():
        return None
    with path.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
