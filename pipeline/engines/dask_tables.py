"""The Dask engine's tables: the same contract checks and feature builders, run per client partition on a
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

"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.errors import ContractError
from features.tables import TABLE_NAMES
from pipeline.data import contract, datasets, partitions
from pipeline.data.reading import (
    ROW_NUMBER,
    as_contract_errors,
    check_header,
    contract_columns,
    layout_of_header,
    normalised,
    require_table,
    sha256_of_table,
    to_pandas,
)
from pipeline.data.values import DECIMAL, Limits, text
from pipeline.engines.dask_cluster import worker_threads

log = logging.getLogger(__name__)


HASH = "__client_hash"
PIECE_ROWS = 2_000_000  # rows per read task (whole row groups)
CSV_BLOCK = "64MiB"


@dataclass
class TableSource:
    name: str
    file: str            # as messages name it
    digest: str          # sha256 of a local file; an fsspec checksum elsewhere
    rows: int
    frame: Any           # dask DataFrame: contract columns, __row, __client_hash
    decimal: str = "."   # the file's decimal mark (',' in a ';' CSV), as the local reader takes it


def _parquet_files(fs, path: str) -> list[str]:
    if fs.isfile(path):
        return [path]
    return sorted(p for p in fs.find(path) if p.endswith(".parquet"))


def find_table(base: str, name: str) -> tuple[str, str, list[str], str] | None:
    """(kind, shown name, files, path) of table `name` under `base`: <name>.parquet (a file or a folder
    of Parquet files), <name>/ (a folder of Parquet files) or <name>.csv, as the local reader finds it."""
    fs, root = datasets.filesystem(base)
    root = root.rstrip("/")
    for candidate, shown in ((f"{root}/{name}.parquet", f"{name}.parquet"), (f"{root}/{name}", f"{name}/")):
        if fs.exists(candidate):
            files = _parquet_files(fs, candidate)
            if not files:
                raise ContractError("is a folder without Parquet files (part files named *.parquet expected)",
                                    file=shown)
            return "parquet", shown, files, candidate
    if fs.isfile(f"{root}/{name}.csv"):
        return "csv", f"{name}.csv", [f"{root}/{name}.csv"], f"{root}/{name}.csv"
    return None


def _digest(fs, files: list[str], path: str) -> str:
    import hashlib

    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        return sha256_of_table(Path(path))  # as the local engine: same files, same fingerprint
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
    return _numbered(normalised(to_pandas(table, file), file), offset)


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
    kind, shown, files, where = found
    fs, _ = datasets.filesystem(base)
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
            check_header(columns, shown)
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
    return TableSource(name, shown, _digest(fs, files, where), offset, frame)


def _read_csv(fs, path: str, name: str, shown: str) -> TableSource:
    import dask.dataframe as dd

    with reading(shown), fs.open(path, "r", encoding="utf-8", newline="") as handle:
        layout = layout_of_header(handle.readline(), name, shown)
    columns = layout.columns
    if "client_id" not in [c.strip().lower() for c in columns]:
        raise ContractError(f"required column is missing (found: {', '.join(layout.header)})", file=shown,
                            column="client_id")
    with reading(shown):
        raw = dd.read_csv(fs.unstrip_protocol(path), sep=layout.delimiter, usecols=columns, dtype=str,
                          keep_default_na=False,
                          na_values=[""], encoding="utf-8", blocksize=CSV_BLOCK, engine="pyarrow")
        lengths = raw.map_partitions(len).compute()
    offsets = np.r_[0, np.cumsum(lengths)].astype(int).tolist()
    meta = _numbered(normalised(raw._meta.copy()), 0)
    frame = raw.map_partitions(lambda part, partition_info=None: _numbered(
        normalised(part), offsets[partition_info["number"]]), meta=meta)
    return TableSource(name, shown, _digest(fs, [path], path), int(offsets[-1]), frame, layout.decimal)


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
    fs, root = datasets.filesystem(data)
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
    ids = text(frame["ticket_id"]) if "ticket_id" in frame else pd.Series(pd.NA, index=frame.index)
    return pd.DataFrame({"h": partitions.hash_text(ids), "p": frame[HASH].to_numpy(),
                         "row": frame[ROW_NUMBER].to_numpy()})


def _check_partition(frames: dict[str, pd.DataFrame], files: dict[str, tuple[str, str, str]],
                     extra: dict[str, pd.Series], limits: Limits | None = None,
                     last_day: pd.Timestamp | None = None) -> contract.LoadResult:
    """contract.validate on one partition, rows back in their source order; given `last_day`, rows dated
    after it set aside (the local engines' rule)."""
    from pipeline.engines.base import future_reasons

    sources, extra_reasons = {}, {}
    for name, frame in frames.items():
        frame = frame.sort_values(ROW_NUMBER, kind="mergesort").drop(columns=[HASH]).reset_index(drop=True)
        file, digest, decimal = files[name]
        frame.attrs[DECIMAL] = decimal
        sources[name] = (frame, file, digest)
        reasons = extra.get(name)
        if reasons is not None and len(reasons):
            extra_reasons[name] = pd.Series(reasons.reindex(frame[ROW_NUMBER].to_numpy()).to_numpy(),
                                            index=frame.index)
    if last_day is not None:
        extra_reasons = future_reasons(sources, last_day, extra_reasons)
    return contract.validate(sources, quarantine_dir=None, max_rejected_share=1.0, keep_rejected=True,
                             extra_reasons=extra_reasons, limits=limits)


def checked_partitions(client: Any, data: str, *, require_churn: bool, clients_per_partition: int,
                       rows_per_partition: int, limits: Limits | None = None,
                       last_day: pd.Timestamp | None = None) -> Partitioned:
    """The data folder's tables, in as many client partitions as its size and the cluster call for,
    checked on the workers."""
    sources = open_tables(str(data), require_churn=require_churn)
    n = partitions_for(sources, clients_per_partition, rows_per_partition, worker_threads(client))
    log.info("Dask: %d client partitions", n)
    return partition(client, sources, n, limits, last_day)


def partition(client: Any, sources: dict[str, TableSource], n: int, limits: Limits | None = None,
              last_day: pd.Timestamp | None = None) -> Partitioned:
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
    files = {name: (s.file, s.digest, s.decimal) for name, s in sources.items()}
    extra_f = client.scatter([extra])[0]  # once, not copied into every partition's task
    shuffled = {name: s.frame.shuffle(on=HASH, npartitions=n).to_delayed() for name, s in sources.items()}
    tasks = [dask.delayed(_check_partition)({name: parts[p] for name, parts in shuffled.items()}, files, extra_f,
                                            limits, last_day) for p in range(n)]
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
