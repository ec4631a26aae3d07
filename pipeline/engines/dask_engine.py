"""The Dask engine: the same contract checks and feature builders, run per client partition on a
Dask cluster (one you already run, or a `distributed.LocalCluster` started for the run).

1. Every table is read as a Dask dataframe. Parquet is a file or a folder of files, on a local
   path or any fsspec URL (s3://, gs://, abfs://, hdfs://...), read in pieces of row groups with
   column projection; each row keeps its number in its source, as the local engine's rows do.
   CSV is read with the layout the local reader detects (separator).
2. Rows are shuffled on a stable hash of the trimmed client_id into `n` partitions: every row of
   a client lands in one partition, the same one in every table.
3. Each partition is checked by `contract.validate` (the local engine's checks) and kept on the
   workers; what needs the whole portfolio (the as-of day, ticket ids reused across clients,
   the spec's event levels, the cutoff plan, quarantine) is reduced from small per-partition
   summaries.
4. Features come from `build_features` / `training_rows` per partition: the same builders, no
   second implementation. Scoring is a `map_partitions` of the model over those features.

Nothing here decides a number differently from the local engine: tests compare both.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import build_features, training_rows
from features.cutoffs import as_of, latest_date
from features.spec import EventLevels, FeatureSpec, event_levels
from features.tables import TABLE_NAMES, Tables
from features.errors import ContractError
from pipeline.data import contract
from pipeline.data.reading import (CATEGORY_COLUMNS, ROW_NUMBER, TIME_COLUMNS, TIME_ORDER, as_contract_errors,
                                   contract_columns, layout_of_header, normalised, require_table, sha256_of_file)
from pipeline.data import partitions
from pipeline.config import EngineConfig

log = logging.getLogger(__name__)

HASH = "__client_hash"
PIECE_ROWS = 2_000_000  # rows per read task (whole row groups)
CSV_BLOCK = "64MiB"


# ------------------------------------------------------------------------------------------ cluster

@contextmanager
def connect(engine: EngineConfig) -> Iterator[Any]:
    """A client of the configured scheduler, or of a LocalCluster living as long as the run."""
    from distributed import Client, LocalCluster

    # Dask's own routine (workers starting, a shuffle begun or ended, the scheduler closing) stays
    # out of the job's log; its warnings and errors stay in
    logging.getLogger("distributed").setLevel(logging.WARNING)
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    if engine.scheduler:
        try:
            client = Client(engine.scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ContractError(f"cannot reach the Dask scheduler ({type(exc).__name__}: {exc}); check the "
                                f"address and that the scheduler runs", file=engine.scheduler) from None
        with client:
            _check_workers(client, engine.scheduler)
            _forward_warnings(client)
            log.info("Dask: connected to %s (%d workers)", engine.scheduler, len(client.scheduler_info()["workers"]))
            yield client
        return
    with LocalCluster(n_workers=engine.workers, threads_per_worker=engine.threads_per_worker, processes=True,
                      memory_limit=engine.memory_limit, dashboard_address=None) as cluster, Client(cluster) as client:
        log.info("Dask: started a LocalCluster of %d workers x %d threads for this run", engine.workers,
                 engine.threads_per_worker)
        _forward_warnings(client)
        yield client


def _forward_warnings(client: Any) -> None:
    """What the checks and builders warn about on a worker (a column read as missing, churn dated
    before signup) reaches this job's log, as it would from the local engine. LightGBM's own lines
    (the Dask estimator's port and network set-up, printed on stdout) go to a logger instead, here
    and on the workers, so stdout keeps only the job's result."""
    for name in ("pipeline", "features", "models"):
        client.forward_logging(name, level=logging.WARNING)
    _lightgbm_to_logging()
    client.run(_lightgbm_to_logging)


def _lightgbm_to_logging() -> None:
    import lightgbm

    lightgbm.register_logger(logging.getLogger("lightgbm"))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import hashlib

    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    # every module of the three packages, sub-packages included
    for path in sorted(p for folder in ("features", "models", "pipeline") for p in (root / folder).rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    found = {"code": digest.hexdigest()[:12]}
    for package in ("churn-pipeline", "lightgbm", "pandas", "pyarrow", "numpy", "cloudpickle"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def _check_workers(client: Any, address: str) -> None:
    """Workers run this project's code: they need it installed, at the versions this process has."""
    mine = _versions()
    try:
        theirs = client.run(_versions)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot run the check cannot run the job either
        raise ContractError(f"the workers cannot run this project's code ({type(exc).__name__}: {exc}); install "
                            f"churn-pipeline on every worker", file=address) from None
    if not theirs:
        raise ContractError("the cluster has no worker", file=address)
    for worker, versions in theirs.items():
        different = {k: v for k, v in versions.items() if v != mine[k]}
        if different:
            shown = ", ".join(f"{k} {v} (here {mine[k]})" for k, v in different.items())
            raise ContractError(f"worker {worker} runs other versions: {shown}; install the same on every worker",
                                file=address)


def worker_threads(client: Any) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


# ------------------------------------------------------------------------------------------ reading

@dataclass
class TableSource:
    name: str
    file: str            # as messages name it
    digest: str          # sha256 of a local file; an fsspec checksum elsewhere
    rows: int
    frame: Any           # dask DataFrame: contract columns, __row, __client_hash


def _fs(base: str):
    import fsspec

    return fsspec.core.url_to_fs(str(base))


def _parquet_files(fs, path: str) -> list[str]:
    if fs.isfile(path):
        return [path]
    return sorted(p for p in fs.find(path) if p.endswith(".parquet"))


def find_table(base: str, name: str) -> tuple[str, str, list[str]] | None:
    """(kind, shown name, files) of table `name` under `base`: <name>.parquet (a file or a folder of
    Parquet files), <name>/ (a folder of Parquet files) or <name>.csv."""
    fs, root = _fs(base)
    root = root.rstrip("/")
    for candidate, shown in ((f"{root}/{name}.parquet", f"{name}.parquet"), (f"{root}/{name}", f"{name}/")):
        if fs.exists(candidate):
            files = _parquet_files(fs, candidate)
            if files:
                return "parquet", shown, files
    if fs.isfile(f"{root}/{name}.csv"):
        return "csv", f"{name}.csv", [f"{root}/{name}.csv"]
    return None


def _digest(fs, files: list[str]) -> str:
    import hashlib

    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem) and len(files) == 1:
        return sha256_of_file(Path(files[0]))  # as the local engine: same file, same fingerprint
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path}:{fs.checksum(path)};".encode())
    return digest.hexdigest()


@contextmanager
def reading(file: str):
    """What a worker raises on a bad file, as a ContractError naming it (the messages of reading.as_contract_errors)."""
    try:
        with as_contract_errors(Path(file)):
            yield
    except FileNotFoundError as exc:
        raise ContractError(f"cannot be read ({exc})", file=file) from None
    except pd.errors.ParserError as exc:  # CSV through pandas' pyarrow parser: a short or long row
        raise ContractError(f"cannot be read as CSV ({str(exc).splitlines()[0]})", file=file) from None


def _read_piece(piece: tuple[str, list[int], int], fs, wanted: list[str], file: str) -> pd.DataFrame:
    path, groups, offset = piece
    with reading(file), fs.open(path, "rb") as handle:
        table = pq.ParquetFile(handle).read_row_groups(groups, columns=wanted)
    return _numbered(normalised(table.to_pandas()), offset)


def _numbered(frame: pd.DataFrame, offset: int) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame[ROW_NUMBER] = np.arange(offset, offset + len(frame), dtype=np.int64)
    frame[HASH] = partitions.client_hashes(frame["client_id"]) if len(frame) else np.zeros(0, dtype=np.uint64)
    return frame


def _meta(columns: list[str], types: dict[str, pa.DataType]) -> pd.DataFrame:
    schema = pa.schema([pa.field(c, types[c]) for c in columns])
    frame = normalised(schema.empty_table().to_pandas())
    return _numbered(frame, 0)


def read_table(base: str, name: str) -> TableSource | None:
    """Table `name` under `base` as a Dask dataframe of its contract columns (None when absent)."""
    import dask.dataframe as dd

    found = find_table(base, name)
    if found is None:
        return None
    kind, shown, files = found
    fs, _ = _fs(base)
    if kind == "csv":
        return _read_csv(fs, files[0], name, shown)
    pieces: list[tuple[str, list[int], int]] = []
    offset, columns, types = 0, None, {}
    for path in files:
        with reading(shown), fs.open(path, "rb") as handle:
            meta = pq.ParquetFile(handle)
            schema, md = meta.schema_arrow, meta.metadata
        if columns is None:
            columns = contract_columns(name, schema.names)
            types = {c: schema.field(c).type for c in columns}
            if "client_id" not in [c.strip().lower() for c in columns]:
                raise ContractError(f"required column is missing (found: {', '.join(schema.names)})", file=shown,
                                    column="client_id")
        group, rows = [], 0
        for g in range(md.num_row_groups):
            group.append(g)
            rows += md.row_group(g).num_rows
            if rows >= PIECE_ROWS or g == md.num_row_groups - 1:
                pieces.append((path, group, offset))
                offset += rows
                group, rows = [], 0
        if md.num_row_groups == 0:
            pieces.append((path, [], offset))
    frame = dd.from_map(_read_piece, pieces, fs=fs, wanted=columns, file=shown, meta=_meta(columns, types),
                        enforce_metadata=False)
    return TableSource(name, shown, _digest(fs, files), offset, frame)


def _read_csv(fs, path: str, name: str, shown: str) -> TableSource:
    import dask.dataframe as dd

    with reading(shown), fs.open(path, "r", encoding="utf-8", newline="") as handle:
        layout = layout_of_header(handle.readline(), name)
    columns = layout.columns
    if "client_id" not in [c.strip().lower() for c in columns]:
        raise ContractError(f"required column is missing (found: {', '.join(layout.header)})", file=shown,
                            column="client_id")
    with reading(shown):
        raw = dd.read_csv(fs.unstrip_protocol(path), sep=layout.delimiter, usecols=columns, dtype=str, keep_default_na=False,
                          na_values=[""], encoding="utf-8", blocksize=CSV_BLOCK, engine="pyarrow")
        lengths = raw.map_partitions(len).compute()
    offsets = np.r_[0, np.cumsum(lengths)].astype(int).tolist()
    meta = _numbered(normalised(raw._meta.copy()), 0)
    frame = raw.map_partitions(lambda part, partition_info=None: _numbered(
        normalised(part), offsets[partition_info["number"]]), meta=meta)
    return TableSource(name, shown, _digest(fs, [path]), int(offsets[-1]), frame)


# ------------------------------------------------------------------------------------------ partitions

@dataclass
class Partitioned:
    """The tables cut into `n` client partitions, checked, on the workers."""

    sources: dict[str, TableSource]
    n: int
    checked: list[Any]  # futures of contract.LoadResult, one per partition
    reports: list[contract.LoadResult] = field(default_factory=list)  # each partition's reports and rejected rows


def partitions_for(sources: dict[str, TableSource], clients_per_partition: int, rows_per_partition: int,
                   threads: int) -> int:
    """As many partitions as the local engine would cut, and at least one per worker thread."""
    others = [source.rows for name, source in sources.items() if name != "clients"]
    return max(threads, partitions.count(sources["clients"].rows, others, clients_per_partition, rows_per_partition))


def open_tables(data: str, require_churn: bool) -> dict[str, TableSource]:
    fs, root = _fs(data)
    if not fs.isdir(root):
        raise ContractError("data folder not found", file=str(data))
    sources = {}
    for name in TABLE_NAMES:
        source = read_table(data, name)
        if source is None:
            require_table(Path(str(data)), name, require_churn)
            continue
        sources[name] = source
    return sources


def _ticket_keys(frame: pd.DataFrame) -> pd.DataFrame:
    ids = contract.client_text(frame["ticket_id"]) if "ticket_id" in frame else pd.Series(pd.NA, index=frame.index)
    return pd.DataFrame({"h": partitions.hash_text(ids), "p": frame[HASH].to_numpy(),
                         "row": frame[ROW_NUMBER].to_numpy()})


def _check_partition(frames: dict[str, pd.DataFrame], files: dict[str, tuple[str, str]],
                     extra: dict[str, pd.Series]) -> contract.LoadResult:
    """contract.validate on one partition, rows back in their source order."""
    sources, extra_reasons = {}, {}
    for name, frame in frames.items():
        frame = frame.sort_values(ROW_NUMBER, kind="mergesort").drop(columns=[HASH]).reset_index(drop=True)
        sources[name] = (frame, *files[name])
        reasons = extra.get(name)
        if reasons is not None and len(reasons):
            extra_reasons[name] = pd.Series(reasons.reindex(frame[ROW_NUMBER].to_numpy()).to_numpy(),
                                            index=frame.index)
    return contract.validate(sources, quarantine_dir=None, max_rejected_share=1.0, keep_rejected=True,
                             extra_reasons=extra_reasons)


def checked_partitions(client: Any, data: str, *, require_churn: bool, clients_per_partition: int,
                       rows_per_partition: int) -> Partitioned:
    """The data folder's tables, in as many client partitions as its size and the cluster call for,
    checked on the workers."""
    sources = open_tables(str(data), require_churn=require_churn)
    n = partitions_for(sources, clients_per_partition, rows_per_partition, worker_threads(client))
    log.info("Dask: %d client partitions", n)
    return partition(client, sources, n)


def partition(client: Any, sources: dict[str, TableSource], n: int) -> Partitioned:
    """Shuffle every table into `n` client partitions and check each partition on the workers."""
    import dask
    from distributed import wait

    extra: dict[str, pd.Series] = {}
    if "tickets" in sources:
        with reading(sources["tickets"].file):
            keys = sources["tickets"].frame.map_partitions(
                _ticket_keys, meta=pd.DataFrame({"h": np.zeros(0, np.uint64), "p": np.zeros(0, np.uint64),
                                                 "row": np.zeros(0, np.int64)})).compute()
        # a ticket_id held by rows of two clients: the row first in the file keeps it
        extra["tickets"] = partitions.reused_tickets(keys["h"].to_numpy(), keys["p"].to_numpy(),
                                                     keys["row"].to_numpy())
    files = {name: (s.file, s.digest) for name, s in sources.items()}
    extra_f = client.scatter([extra])[0]  # once, not copied into every partition's task
    shuffled = {name: s.frame.shuffle(on=HASH, npartitions=n).to_delayed() for name, s in sources.items()}
    tasks = [dask.delayed(_check_partition)({name: parts[p] for name, parts in shuffled.items()}, files, extra_f)
             for p in range(n)]
    checked = client.compute(tasks)
    wait(checked)
    csv = ", ".join(s.file for s in sources.values() if s.file.endswith(".csv"))
    for future in checked:
        if future.status == "error":
            try:
                future.result()  # the worker's error, here (a ContractError names its file already)
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise ContractError(f"cannot be read as CSV ({str(exc).splitlines()[0]})", file=csv) from None
    return Partitioned(sources, n, checked, client.gather(client.map(_reports_of, checked)))


def _reports_of(loaded: contract.LoadResult) -> contract.LoadResult:
    """What the driver needs of a partition's check: reports and rejected rows, not the tables."""
    return contract.LoadResult(tables=None, reports=loaded.reports, rejected=loaded.rejected)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ reductions

def _churn_of(loaded: contract.LoadResult) -> pd.DataFrame | None:
    churn = loaded.tables.churn
    return None if churn is None else churn[["client_id", "churned_at"]].assign(
        client_id=churn["client_id"].astype(str))


def churn_rows(client: Any, parts: Partitioned) -> pd.DataFrame | None:
    """Who left and when (checked rows), for grading earlier lists."""
    frames = [f for f in client.gather(client.map(_churn_of, parts.checked)) if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else None


def _latest(loaded: contract.LoadResult) -> pd.Timestamp | None:
    try:
        return latest_date(loaded.tables)
    except ContractError:
        return None


def latest(client: Any, parts: Partitioned) -> pd.Timestamp:
    days = [d for d in client.gather(client.map(_latest, parts.checked)) if d is not None]
    if not days:
        raise ContractError("no dated row in any table, cannot tell the latest date", file="clients")
    return max(days)


def _summary(loaded: contract.LoadResult) -> dict[str, pd.DataFrame | None]:
    """A partition's per-client tables whole, and of its logs only the rows holding each date
    column's first and last value: enough for the latest day, the cutoff plan and the spec."""
    out: dict[str, pd.DataFrame | None] = {}
    for name, frame in loaded.tables.present().items():
        if name in ("clients", "churn"):
            out[name] = frame
            continue
        keep = np.zeros(len(frame), dtype=bool)
        for column in TIME_COLUMNS[name]:
            if column in frame and frame[column].notna().any():
                values = frame[column].reset_index(drop=True)
                keep[int(values.idxmin())] = True
                keep[int(values.idxmax())] = True
        out[name] = frame[keep]
    return out


def summary(client: Any, parts: Partitioned) -> Tables:
    """Per-client tables of the whole portfolio and the date extremes of the logs, as one Tables
    whose client_id is coded on every client (as `contract.validate` codes a whole table)."""
    pieces = client.gather(client.map(_summary, parts.checked))
    merged: dict[str, pd.DataFrame | None] = {}
    for name in TABLE_NAMES:
        frames = [p[name] for p in pieces if p.get(name) is not None]
        if not frames:
            merged[name] = None
            continue
        frame = pd.concat([f.assign(client_id=f["client_id"].astype(str)) for f in frames], ignore_index=True)
        for column in CATEGORY_COLUMNS.get(name, ()):
            if column in frame:
                frame[column] = frame[column].astype(str).where(frame[column].notna()).astype("category")
        merged[name] = frame
    clients = merged["clients"].sort_values("client_id", kind="mergesort")
    for column in clients.columns:
        if column not in ("client_id", "signup_date", "monthly_value", ROW_NUMBER) \
                and not pd.api.types.is_numeric_dtype(clients[column]):
            # numeric or text is decided per partition: a column empty in one partition came back as
            # text there; decided again on the whole column, as one pass decides it
            clients[column] = contract.attribute(clients[column].astype(object))
    categories = pd.Index(clients["client_id"].to_numpy())
    for name, frame in merged.items():
        if frame is not None:
            merged[name] = frame.assign(client_id=pd.Categorical(frame["client_id"], categories=categories))
    merged["clients"] = clients.assign(client_id=pd.Categorical(clients["client_id"], categories=categories)
                                       ).reset_index(drop=True)
    for name, column in TIME_ORDER.items():
        if merged.get(name) is not None:
            merged[name] = merged[name].sort_values(column, kind="mergesort").reset_index(drop=True)
    return Tables(**merged)


def _levels_at(loaded: contract.LoadResult, cutoff: pd.Timestamp) -> EventLevels | None:
    events = as_of(loaded.tables, cutoff).events
    return None if events is None else event_levels(events)


def levels(client: Any, parts: Partitioned, cutoff: pd.Timestamp) -> EventLevels | None:
    found = [x for x in client.gather(client.map(_levels_at, parts.checked, cutoff=cutoff)) if x is not None]
    return reduce(lambda a, b: a + b, found) if found else None


# ------------------------------------------------------------------------------------------ features

def check_sources(parts: Partitioned, spec: FeatureSpec, missing: str) -> None:
    """The model's tables and columns against the data's, here (a warning on a worker stays there)."""
    from features import check_sources

    shapes = {name: source.frame._meta for name, source in parts.sources.items()}
    check_sources(Tables(**{name: shapes.get(name) for name in TABLE_NAMES}), spec, missing)


def _features_of(loaded: contract.LoadResult, cutoffs: list[pd.Timestamp], spec: FeatureSpec, missing: str,
                 until: pd.Timestamp | None, horizon_days: int | None) -> pd.DataFrame:
    """One partition's rows: scoring features (with monthly value) or labelled training rows."""
    from models.segments import monthly_values

    tables = loaded.tables
    if horizon_days is not None:  # training: the data known at `until`, then each cutoff with its label
        rows = training_rows(as_of(tables, until), cutoffs, spec, horizon_days)
        return rows.assign(client_id=rows["client_id"].astype(str), label=rows["label"].astype(np.int8))
    features = build_features(tables, cutoffs, spec, missing=missing)
    features = features.assign(client_id=features["client_id"].astype(str))
    monthly = monthly_values(tables.clients)
    value = monthly.reindex(features["client_id"].astype(str)).to_numpy(dtype=float) if monthly is not None \
        else np.full(len(features), np.nan)
    return features.assign(**{MONTHLY: value})


MONTHLY = "__monthly_value"


def features(client: Any, parts: Partitioned, cutoffs: list[pd.Timestamp], spec: FeatureSpec, *,
             missing: str = "warn", until: pd.Timestamp | None = None, horizon_days: int | None = None):
    """A Dask dataframe of features (scoring) or labelled rows (training): one partition per client
    partition, built by the local builders."""
    import dask.dataframe as dd

    spec_f = client.scatter(spec, broadcast=True)
    futures = client.map(_features_of, parts.checked, cutoffs=list(cutoffs), spec=spec_f, missing=missing,
                         until=until, horizon_days=horizon_days)
    # the frame's types as the builders make them (an empty partition still has every column)
    meta = client.submit(_empty, futures[0]).result()
    return dd.from_delayed(futures, meta=meta, verify_meta=False)


def _empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.head(0)


# ------------------------------------------------------------------------------------------ scoring

RISK_PARTS = "risk_list_parts"
FEATURE_PARTS = "features"


LIST = "__list_"  # the list columns beside the features in one frame (a feature may be called monthly_value)
PROBABILITY = "__probability"  # unrounded, as the local engine counts drift on it


def _drift_counts(frame: pd.DataFrame, profiles: dict) -> pd.DataFrame:
    """One partition's drift counts, long (column, bin, count), so partitions add up by a groupby."""
    from models import drift

    counts = drift.DriftCounter(profiles).add(frame.assign(churn_probability=frame[PROBABILITY]))
    return pd.DataFrame([(column, b, int(n)) for column, values in counts.counts.items() for b, n in enumerate(values)],
                        columns=["column", "bin", "count"]).astype({"column": object, "bin": np.int64,
                                                                    "count": np.int64})


@dataclass
class Scored:
    core: pd.DataFrame                 # every scored client's list columns (the local engine's cores)
    counts: dict[str, np.ndarray]      # drift counts, summed over partitions
    work: str                          # where the partitioned outputs are
    features_url: str                  # the features, partitioned (read back for the listed rows)
    parts_url: str                     # the partitioned Parquet risk list


def score(client: Any, parts: Partitioned, cutoff: pd.Timestamp, bundle: Any, *, segments: Any, profiles: dict,
          missing: str, work: str, has_monthly_value: bool) -> Scored:
    """Features per partition, the model per partition (`map_partitions`), outputs written by the
    workers as partitioned Parquet under `work`; the per-client list columns come back here."""
    import dask
    import dask.dataframe as dd

    check_sources(parts, bundle.spec, missing)
    frame = features(client, parts, [cutoff], bundle.spec, missing=missing)
    model = dask.delayed(bundle, name=f"churn-model-{uuid.uuid4().hex}")
    # the list columns' types as `score_core` makes them, from a few rows scored here
    sample = frame.head(5, npartitions=-1, compute=True)
    meta = _scored_partition(sample, bundle, segments, has_monthly_value).head(0)
    scored = frame.map_partitions(_scored_partition, model, segments, has_monthly_value, meta=meta,
                                  enforce_metadata=False)
    core = scored[[c for c in meta.columns if c.startswith(LIST)]]
    core = core.rename(columns={c: c.removeprefix(LIST) for c in core.columns})
    parts_url, features_url = f"{work}/{RISK_PARTS}", f"{work}/{FEATURE_PARTS}"
    writes = [core.to_parquet(parts_url, write_index=False, compute=False),
              frame.drop(columns=[MONTHLY]).to_parquet(features_url, write_index=False, compute=False)]
    count_meta = pd.DataFrame({"column": pd.Series(dtype=object), "bin": pd.Series(dtype=np.int64),
                               "count": pd.Series(dtype=np.int64)})
    counts = scored.map_partitions(_drift_counts, profiles, meta=count_meta).groupby(["column", "bin"])["count"].sum()
    _, _, summed = dask.compute(*writes, counts)
    total = {column: np.zeros(p.n_bins, dtype=np.int64) for column, p in profiles.items()}
    for (column, b), n in summed.items():
        total[column][b] += int(n)
    core_rows = _read_all(parts_url)
    expected = int(frame.map_partitions(len).compute().sum())
    if len(core_rows) != expected:
        raise ContractError(f"the workers scored {expected} clients but this process reads {len(core_rows)} from "
                            f"{parts_url}: workers and this process must share it; set engine.work_url to storage "
                            f"all of them reach (s3://..., a shared disk)", file=work)
    return Scored(core_rows, total, work, features_url, parts_url)


def _scored_partition(frame: pd.DataFrame, bundle: Any, segments: Any, has_monthly_value: bool) -> pd.DataFrame:
    from models import risk_list

    probability = bundle.predict(frame)
    monthly = pd.Series(frame[MONTHLY].to_numpy(dtype=float), index=frame["client_id"].astype(str)) \
        if has_monthly_value else None
    core = risk_list.score_core(frame, probability, monthly, segments)
    return pd.concat([frame.reset_index(drop=True), core.add_prefix(LIST)], axis=1).assign(
        **{PROBABILITY: np.asarray(probability, dtype=np.float64)})


def _read_all(url: str) -> pd.DataFrame:
    import pyarrow.dataset as pads

    fs, path = _arrow_fs(url)
    return pads.dataset(path, filesystem=fs, format="parquet").to_table().to_pandas()


def read_rows(url: str, ids: np.ndarray) -> pd.DataFrame:
    """The rows of these clients from a partitioned Parquet dataset (a row filter, not a full read)."""
    import pyarrow.dataset as pads

    fs, path = _arrow_fs(url)
    wanted = pa.array(np.asarray(ids, dtype=object), type=pa.string())
    return pads.dataset(path, filesystem=fs, format="parquet").to_table(
        filter=pads.field("client_id").isin(wanted)).to_pandas()


def _arrow_fs(url: str):
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    fs, path = _fs(url)
    return PyFileSystem(FSSpecHandler(fs)), path


def remove(url: str) -> None:
    fs, path = _fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=True)
