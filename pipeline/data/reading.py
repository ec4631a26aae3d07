"""Finding and reading contract tables as written, before any check.

Each table is `<name>.parquet` (a file, or a folder of Parquet part files as Spark and Dask write
it), a folder `<name>/` of Parquet part files, or `<name>.csv` (UTF-8, header row, comma; a ';',
tab or '|' separator is taken when the header has no comma; a ';' file writes decimal commas).
Header names are trimmed and compared in lower case: two that are then equal are refused, both
named as written. Only the contract's columns are read, repeated text arrives as categoricals,
and whatever a reader raises on a bad file becomes a `ContractError` naming the file.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.errors import ContractError
from features.tables import CATEGORY_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from pipeline.data.values import DECIMAL

log = logging.getLogger(__name__)

# the column each log is kept sorted by (the time module binary-searches it)
TIME_ORDER = {"events": "timestamp", "surveys": "answered_at", "tickets": "opened_at", "churn": "churned_at"}
ROW_NUMBER = "__row"  # a source's own row number, carried by hash partitions (not data)
MAX_HEADER_CHARACTERS = 1 << 20  # a header line longer than this is not a header
READ_ERRORS = (pa.ArrowException, OSError, ValueError, OverflowError, NotImplementedError, EOFError, IndexError,
               KeyError, TypeError)  # what readers raise on bytes that are not what their name says


def find_table(folder: Path, name: str) -> Path | None:
    """`<name>.parquet` (a file or a folder of part files), a folder `<name>/`, or `<name>.csv`."""
    for path in (folder / f"{name}.parquet", folder / name, folder / f"{name}.csv"):
        if path.is_file() and path.suffix in (".parquet", ".csv"):
            return path
        if path.is_dir():
            if not parquet_files(path):
                raise ContractError("is a folder without Parquet files (part files named *.parquet expected)",
                                    file=shown_name(path))
            return path
    return None


def parquet_files(path: Path) -> list[Path]:
    """The Parquet file, or a folder's part files (any depth, in name order) as Dask reads them."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.parquet") if p.is_file())


def is_parquet(path: Path) -> bool:
    return path.suffix == ".parquet" or path.is_dir()


def shown_name(path: Path) -> str:
    """A table's file as messages name it: `events.parquet`, `events/` for a folder, `clients.csv`."""
    return f"{path.name}/" if path.is_dir() and path.suffix != ".parquet" else path.name


def require_table(folder: Path, name: str, require_churn: bool) -> None:
    """Raise when a table the run cannot do without is absent from `folder`."""
    if name == "clients" or (name == "churn" and require_churn):
        need = "is required" if name == "clients" else "is required to train (who left and when)"
        raise ContractError(f"table {need}: add {name}.csv or {name}.parquet", file=str(Path(folder) / name))


def sha256_of_table(path: Path) -> str:
    """A table's fingerprint: its file's SHA-256, or a folder's over each part's name and SHA-256."""
    if not path.is_dir():
        return sha256_of_file(path)
    digest = hashlib.sha256()
    for part in parquet_files(path):
        digest.update(f"{part.relative_to(path).as_posix()}:{sha256_of_file(part)};".encode())
    return digest.hexdigest()


def sha256_of_file(path: Path) -> str:
    """SHA-256 of a file, read in blocks (event logs can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def contract_columns(name: str, names: list[str]) -> list[str]:
    """The columns of a file worth reading (projection): every column of clients (attributes are
    features), only the contract's columns of the other tables."""
    if name == "clients":
        return [c for c in names if str(c).strip()]  # a column without a name (a row index) is no attribute
    known = {*REQUIRED_COLUMNS[name], *OPTIONAL_COLUMNS[name]}
    return [c for c in names if str(c).strip().lower() in known]


def check_header(names: list[str], file: str) -> None:
    """Refuse two column names that are one once trimmed and in lower case, naming them as written."""
    seen: dict[str, list[str]] = {}
    for written in names:
        seen.setdefault(str(written).strip().lower(), []).append(str(written))
    for key, written in seen.items():
        if len(written) > 1:
            shown = ", ".join(repr(w) for w in written)
            raise ContractError(f"column appears {len(written)} times in the header, as {shown} (names compare "
                                f"trimmed, in lower case)", file=file, column=key, count=len(written))


def dictionary_columns(name: str, schema: pa.Schema) -> list[str]:
    """Text columns that repeat a lot: read as dictionaries (pandas categoricals), cheap."""
    return [c for c in ("client_id", *CATEGORY_COLUMNS.get(name, ())) if c in schema.names
            and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]


class RaggedRows:
    """Counts the CSV rows whose number of fields is not the header's while the reader reads on, so
    that one message names how many there are (`check`), not only the first the reader met."""

    EXAMPLE_CHARACTERS = 80

    def __init__(self) -> None:
        self.count, self.first = 0, None

    def __call__(self, row) -> str:
        self.count += 1
        if self.first is None:
            self.first = (row.expected_columns, row.actual_columns, row.text)
        return "skip"

    def check(self, file: str) -> None:
        if not self.count:
            return
        expected, actual, text = self.first
        if len(text) > self.EXAMPLE_CHARACTERS:
            text = text[:self.EXAMPLE_CHARACTERS - 3] + "..."
        raise ContractError(f"{self.count} row(s) have another number of fields than the header's {expected} (the "
                            f"first has {actual}: {text!r}); quote a value that holds the separator, or remove the "
                            f"row", file=file, count=self.count)


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is laid out: separator, the header as written, the columns to read."""

    delimiter: str
    header: list[str]
    columns: list[str]

    @property
    def decimal(self) -> str:
        """The decimal mark of the file's numbers: ',' in a ';' file (a spreadsheet's in a decimal-comma locale)."""
        return "," if self.delimiter == ";" else "."

    def options(self, name: str, dictionary: bool = True, ragged: RaggedRows | None = None) -> tuple:
        """pyarrow's parse and convert options; rows whose number of fields is not the header's go to
        `ragged` (which names them after the read) instead of stopping the reader at the first."""
        keep = ["client_id", *CATEGORY_COLUMNS.get(name, ())] if dictionary else []
        types = {c: (pa.dictionary(pa.int32(), pa.string()) if c.strip().lower() in keep else pa.string())
                 for c in self.header}
        return (pacsv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=ragged),
                pacsv.ConvertOptions(column_types=types, include_columns=self.columns, strings_can_be_null=True,
                                     null_values=[""], quoted_strings_can_be_null=True))


def csv_layout(path: Path, name: str) -> CsvLayout:
    with as_contract_errors(path), path.open("r", encoding="utf-8", newline="") as handle:
        first_line = handle.readline(MAX_HEADER_CHARACTERS)
    layout = layout_of_header(first_line, name, path.name)
    if layout.delimiter != ",":
        log.info("%s: read with %r as the separator", path.name, layout.delimiter)
    return layout


def layout_of_header(first_line: str, name: str, file: str) -> CsvLayout:
    """The layout a CSV's header line gives (separator, names as written, the columns to read)."""
    if len(first_line) >= MAX_HEADER_CHARACTERS:
        raise ContractError(f"has a header line over {MAX_HEADER_CHARACTERS} characters (is it a CSV?)", file=file)
    first_line = first_line.lstrip("\ufeff").rstrip("\r\n")
    delimiter = delimiter_of(first_line)
    header = next(csv.reader([first_line], delimiter=delimiter), [])  # names as the CSV reader sees them
    columns = contract_columns(name, header)
    check_header(columns, file)
    return CsvLayout(delimiter, header, columns)


def delimiter_of(header: str) -> str:
    """The contract's comma; a spreadsheet in a Spanish locale saves ';' (or a tab) instead."""
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in (";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@contextmanager
def as_contract_errors(path: Path, shown: str | None = None):
    """Turn what a reader raises on a bad file into a ContractError naming the file."""
    file = shown or shown_name(path)
    try:
        yield
    except ContractError:
        raise
    except UnicodeDecodeError as exc:
        raise ContractError(f"is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV",
                            file=file) from None
    except READ_ERRORS as exc:
        message = _first_line(exc)
        if "utf8" in message.lower() or "utf-8" in message.lower():
            raise ContractError(f"is not UTF-8 text ({message}); save it as UTF-8 CSV", file=file) from None
        kind = "Parquet" if is_parquet(path) else "CSV"
        raise ContractError(f"cannot be read as {kind} ({message})", file=file) from None


def read_raw(path: Path, name: str) -> pd.DataFrame:
    """The columns worth reading, as written; repeated text arrives as categoricals (cheap)."""
    if is_parquet(path):
        return _read_parquet(path, name)
    ragged = RaggedRows()
    with as_contract_errors(path):
        layout = csv_layout(path, name)
        parse, convert = layout.options(name, ragged=ragged)
        table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="utf8"), parse_options=parse,
                               convert_options=convert)
    ragged.check(path.name)
    frame = to_pandas(table, path.name)
    frame.attrs[DECIMAL] = layout.decimal
    return normalised(frame, path.name)


def _read_parquet(path: Path, name: str) -> pd.DataFrame:
    """A Parquet file, or a folder's part files as one table (each part's errors naming that part)."""
    tables, shown = [], shown_name(path)
    for part in parquet_files(path):
        part_name = shown if part == path else f"{shown.rstrip('/')}/{part.relative_to(path).as_posix()}"
        with as_contract_errors(part, part_name):
            schema = pq.read_schema(part)
            columns = contract_columns(name, schema.names)
            check_header(columns, part_name)
            tables.append(pq.read_table(part, columns=columns, read_dictionary=dictionary_columns(name, schema)))
    with as_contract_errors(path, shown):
        table = tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    return normalised(to_pandas(table, shown), shown)


def to_pandas(table: pa.Table, file: str) -> pd.DataFrame:
    """A table as pandas (dates as datetime64, so years past 9999 reach the range check); a column
    that cannot be converted is named."""
    try:
        return table.to_pandas(date_as_object=False)
    except READ_ERRORS as whole:
        for index, column in enumerate(table.column_names):
            try:
                table.select([index]).to_pandas(date_as_object=False)
            except READ_ERRORS as exc:
                raise ContractError(f"cannot be read ({_first_line(exc)})", file=file, column=str(column)) from None
        raise ContractError(f"cannot be read ({_first_line(whole)})", file=file) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def normalised(frame: pd.DataFrame, file: str = "") -> pd.DataFrame:
    """Column names trimmed and in lower case (two that become one are refused, named as written)."""
    check_header([str(c) for c in frame.columns], file)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame
