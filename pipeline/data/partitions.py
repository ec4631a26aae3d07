"""Hash partitions of the input tables: a run's memory follows the partition, not the data.

Every row of a client lands in the same partition: the partition is a stable hash of the
client_id text (pandas' SipHash with its fixed key, so the same id gives the same partition
on every machine and every run). Each file is streamed in record batches with column
projection, split, and written as one Parquet file per (table, partition); a partition is then
read back whole. Each row keeps its number in its source file, so contract checks and
quarantine come out as in a single pass.

Two things need more than one partition, and are settled while splitting:
- a ticket_id reused by two clients: checked on hashes; the row first in the file keeps the id
  (one pass keeps the first row that is otherwise valid: they differ only when that first row
  is itself set aside for another reason);
- the latest day in the data (the as-of when none is given): the latest valid date of a row
  whose client is in the clients table. The scorer checks it against the rows it keeps and
  scores again in the rare case a row set aside for another reason held that day.
Memory: one partition at a time, plus 8 bytes per client and 20 per ticket while splitting.
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.errors import ContractError
from features.tables import TABLE_NAMES, TIME_COLUMNS
from pipeline.data import reading
from pipeline.data.values import DECIMAL, parse_time, text

log = logging.getLogger(__name__)

BATCH_ROWS = 1 << 20
CSV_BLOCK_BYTES = 64 << 20
TICKET_REUSED = "duplicate ticket_id (first row kept)"


def partitions_needed(folder: Path, clients_per_partition: int, rows_per_partition: int) -> int:
    """How many partitions keep each within `clients_per_partition` clients and about
    `rows_per_partition` rows of any one table (1: a single pass)."""
    folder = Path(folder)
    clients = reading.find_table(folder, "clients")
    if clients is None:
        return 1
    others = [_row_count(path) for name in TABLE_NAMES if name != "clients"
              and (path := reading.find_table(folder, name)) is not None]
    return count(_row_count(clients), others, clients_per_partition, rows_per_partition)


def count(clients: int, other_rows: list[int], clients_per_partition: int, rows_per_partition: int) -> int:
    """Partitions that keep each within `clients_per_partition` clients and `rows_per_partition`
    rows of any other table (at least one)."""
    n = math.ceil(clients / clients_per_partition)
    for rows in other_rows:
        n = max(n, math.ceil(rows / rows_per_partition))
    return max(1, n)


def _row_count(path: Path) -> int:
    if reading.is_parquet(path):
        rows = 0
        for part in reading.parquet_files(path):
            with reading.as_contract_errors(part):
                rows += pq.ParquetFile(part).metadata.num_rows
        return rows
    with path.open("rb") as handle:  # an estimate is enough to size partitions
        return max(0, sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 24), b"")) - 1)


def client_hashes(ids: pd.Series) -> np.ndarray:
    """A stable 64-bit hash of each client id as the contract reads it (trimmed text)."""
    trimmed = text(ids)
    if isinstance(trimmed.dtype, pd.CategoricalDtype):
        per_category = _hash(trimmed.cat.categories.to_numpy(dtype=object))
        return np.r_[per_category, np.uint64(0)][trimmed.cat.codes.to_numpy()]
    return _hash(trimmed.to_numpy(dtype=object, na_value=""))


def partition_of(ids: pd.Series, n: int) -> np.ndarray:
    """The partition of each client id."""
    return (client_hashes(ids) % np.uint64(n)).astype(np.int32)


def _hash(values: np.ndarray) -> np.ndarray:
    if not len(values):
        return np.zeros(0, dtype=np.uint64)
    return pd.util.hash_array(np.asarray(values, dtype=object), categorize=False)


@dataclass
class Source:
    file: str
    sha256: str
    rows: int
    schema: pa.Schema
    decimal: str = "."  # the file's decimal mark (',' in a ';' CSV)


@dataclass
class Split:
    """The input tables cut into `n` hash partitions under `folder`."""

    folder: Path
    n: int
    sources: dict[str, Source] = field(default_factory=dict)
    extra_reasons: dict[str, pd.Series] = field(default_factory=dict)  # by source row number
    # the latest day of any valid date or time of a known client: the as-of when none is given
    latest: pd.Timestamp | None = None
    known_clients: np.ndarray | None = None  # sorted hashes of the clients table's ids

    def saw(self, values: pd.Series, hashes: np.ndarray) -> None:
        """Note the latest valid moment among rows of known clients (checked only where it matters:
        for rows later than the latest seen so far)."""
        later = values.notna().to_numpy().copy()
        if self.latest is not None:
            later &= (values >= self.latest + pd.Timedelta(days=1)).to_numpy()
        if not later.any():
            return
        if self.known_clients is not None:
            candidates = hashes[later]
            at = np.searchsorted(self.known_clients, candidates).clip(max=max(len(self.known_clients) - 1, 0))
            known = np.zeros(len(candidates), dtype=bool) if not len(self.known_clients) else \
                self.known_clients[at] == candidates
            later[np.flatnonzero(later)[~known]] = False
            if not later.any():
                return
        day = pd.Timestamp(values[later].max()).normalize()
        self.latest = day if self.latest is None else max(self.latest, day)

    def partition(self, p: int) -> dict[str, tuple[pd.DataFrame, str, str]]:
        """Partition `p` of every table, as `contract.validate` takes it (rows carry `__row`)."""
        sources = {}
        for name, source in self.sources.items():
            path = self.folder / name / f"part-{p:05d}.parquet"
            if path.exists():
                table = pq.read_table(path, read_dictionary=reading.dictionary_columns(name, source.schema))
            else:
                table = source.schema.empty_table()
            frame = reading.normalised(reading.to_pandas(table, source.file), source.file)
            frame.attrs[DECIMAL] = source.decimal
            sources[name] = (frame, source.file, source.sha256)
        return sources

    def reasons_for(self, name: str, rows: pd.Series) -> pd.Series | None:
        """Cross-partition reasons of these rows (indexed like `rows`), if any."""
        extra = self.extra_reasons.get(name)
        if extra is None or not len(extra):
            return None
        return pd.Series(extra.reindex(rows.to_numpy()).to_numpy(), index=rows.index)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def split(folder: Path, work: Path, n: int, *, require_churn: bool) -> Split:
    """Stream every contract table of `folder` into `n` hash partitions under `work`."""
    folder, work = Path(folder), Path(work)
    if not folder.is_dir():
        raise ContractError("data folder not found", file=str(folder))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    result = Split(work, n)
    for name in TABLE_NAMES:
        path = reading.find_table(folder, name)
        if path is None:
            reading.require_table(folder, name, require_churn)
            continue
        result.sources[name] = _split_table(path, name, work / name, n, result)
    return result


def _batches(path: Path, name: str):
    """Record batches of the file's contract columns (projection), repeated text as dictionaries.

    Only reading is translated into a ContractError naming the file: a full disk while writing
    partitions is not the input's fault.
    """
    if reading.is_parquet(path):
        for part in reading.parquet_files(path):
            shown = reading.shown_name(path) if part == path else \
                f"{reading.shown_name(path).rstrip('/')}/{part.relative_to(path).as_posix()}"
            with reading.as_contract_errors(part, shown):
                handle = pq.ParquetFile(part, read_dictionary=reading.dictionary_columns(name, pq.read_schema(part)))
                columns = reading.contract_columns(name, handle.schema_arrow.names)
                reading.check_header(columns, shown)
                batches = handle.iter_batches(batch_size=BATCH_ROWS, columns=columns)
            yield from _guarded(batches, part, shown)
        return
    ragged = reading.RaggedRows()
    with reading.as_contract_errors(path):
        layout = reading.csv_layout(path, name)
        parse, convert = layout.options(name, ragged=ragged)
        batches = pacsv.open_csv(path, read_options=pacsv.ReadOptions(encoding="utf8", block_size=CSV_BLOCK_BYTES),
                                 parse_options=parse, convert_options=convert)
    yield from _guarded(batches, path, path.name)
    ragged.check(path.name)


def _guarded(batches, path: Path, shown: str):
    while True:
        with reading.as_contract_errors(path, shown):
            batch = next(batches, None)
        if batch is None:
            return
        yield batch


def _split_table(path: Path, name: str, target: Path, n: int, result: Split) -> Source:
    target.mkdir(parents=True)
    writers: dict[int, pq.ParquetWriter] = {}
    rows = 0
    schema = None
    tickets: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    clients: list[np.ndarray] = []
    try:
        for batch in _batches(path, name):
            columns = [str(c).strip().lower() for c in batch.schema.names]
            batch = batch.rename_columns(columns)  # part files may differ in case or spaces
            numbers = np.arange(rows, rows + batch.num_rows, dtype=np.int64)
            batch = batch.append_column(reading.ROW_NUMBER, pa.array(numbers))
            if "client_id" not in columns:
                raise ContractError(f"required column is missing (found: {', '.join(columns)})",
                                    file=reading.shown_name(path), column="client_id")
            batch, schema = _conform(batch, schema, reading.shown_name(path))
            hashes = client_hashes(batch.column(columns.index("client_id")).to_pandas())
            part = (hashes % np.uint64(n)).astype(np.int32)
            if name == "clients":
                clients.append(hashes)
            for column in TIME_COLUMNS[name]:
                if column in columns:
                    values, _, _ = parse_time(reading.to_pandas(batch.select([column]), path.name)[column])
                    result.saw(values, hashes)
            if name == "tickets" and "ticket_id" in columns:
                ticket = text(batch.column(columns.index("ticket_id")).to_pandas())
                tickets.append((hash_text(ticket), part, numbers))
            order = np.argsort(part, kind="stable")
            ordered = batch.take(pa.array(order))
            bounds = np.searchsorted(part[order], np.arange(n + 1))
            for p in range(n):
                start, stop = bounds[p], bounds[p + 1]
                if stop > start:
                    if p not in writers:
                        writers[p] = pq.ParquetWriter(target / f"part-{p:05d}.parquet", schema)
                    writers[p].write_batch(ordered.slice(start, stop - start))
            rows += batch.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    if name == "clients":
        ordered = np.sort(np.concatenate(clients)) if clients else np.zeros(0, dtype=np.uint64)
        # np.unique by a sort: numpy 2.4's np.unique hashes integers, many times slower on millions
        result.known_clients = ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered
    if schema is None:  # a header-only file: its columns still count
        with reading.as_contract_errors(path):
            schema = _header_schema(path, name)
    if tickets:
        result.extra_reasons["tickets"] = reused_tickets(*map(np.concatenate, zip(*tickets)))
    log.info("%s: %d rows split into %d partitions", path.name, rows, n)
    decimal = reading.csv_layout(path, name).decimal if not reading.is_parquet(path) else "."
    return Source(reading.shown_name(path), reading.sha256_of_table(path), rows, schema, decimal)


def _conform(batch: pa.RecordBatch, schema: pa.Schema | None, shown: str) -> tuple[pa.RecordBatch, pa.Schema]:
    """The batch as plain text, in the schema of the file's first batch (the part files of a folder may
    differ: a column missing from one is empty there; a type that cannot be cast stops, naming the folder)."""
    batch = _plain_text(batch)
    if schema is None or batch.schema == schema:
        return batch, batch.schema
    extra = [c for c in batch.schema.names if c not in schema.names]
    try:
        if extra:
            raise ValueError(f"column {extra[0]!r} is not in the first part")
        columns = [batch.column(f.name).cast(f.type) if f.name in batch.schema.names
                   else pa.nulls(batch.num_rows, f.type) for f in schema]
    except (pa.ArrowException, ValueError) as exc:
        raise ContractError(f"part files do not share one schema ({str(exc).splitlines()[0]})", file=shown) from None
    return pa.RecordBatch.from_arrays(columns, schema=schema), schema


def _plain_text(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Dictionary columns as plain text before writing: a slice keeps its whole batch's dictionary,
    which the Parquet writer would store in every partition's row group (each partition then reads
    back, and unifies, dictionaries of every client in the batch: time and memory that grow with
    the data, not the partition). Written as text, each row group encodes only its own values."""
    columns = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in batch.columns]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _header_schema(path: Path, name: str) -> pa.Schema:
    if reading.is_parquet(path):
        schema = pq.read_schema(reading.parquet_files(path)[0])
        fields = [schema.field(c).with_name(str(c).strip().lower())
                  for c in reading.contract_columns(name, schema.names)]
    else:
        layout = reading.csv_layout(path, name)
        fields = [pa.field(c, pa.string()) for c in layout.columns]
    return pa.schema([*fields, pa.field(reading.ROW_NUMBER, pa.int64())])


def hash_text(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.CategoricalDtype):
        per_category = pd.util.hash_array(values.cat.categories.to_numpy(dtype=object), categorize=False)
        return np.r_[per_category, np.uint64(0)][values.cat.codes.to_numpy()]
    filled = values.to_numpy(dtype=object, na_value=None)
    hashed = pd.util.hash_array(np.where(pd.isna(filled), "", filled).astype(object), categorize=False)
    return np.where(pd.isna(filled), np.uint64(0), hashed)


def reused_tickets(hashes: np.ndarray, part: np.ndarray, numbers: np.ndarray) -> pd.Series:
    """Rows whose ticket_id an earlier row in another partition holds (0 hashes are empty ids)."""
    frame = pd.DataFrame({"h": hashes, "p": part, "row": numbers})
    frame = frame[frame["h"] != 0]
    spans = frame.groupby("h")["p"].nunique()
    shared = frame[frame["h"].isin(spans.index[spans > 1])].sort_values("row")
    first = shared.groupby("h")["p"].transform("first")
    later = shared[shared["p"] != first]
    return pd.Series(TICKET_REUSED, index=later["row"].to_numpy(), dtype=object)
