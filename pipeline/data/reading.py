"""Finding and reading contract tables as written, before any check.

Each table is `<name>.parquet` or `<name>.csv` (UTF-8, header row, comma; a ';', tab or '|'
separator is taken when the header has no comma). Only the contract's columns are read, repeated
text arrives as categoricals, and whatever a reader raises on a bad file becomes a `ContractError`
naming the file.
"""

from __future__ import annotations

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

log = logging.getLogger(__name__)

# the column each log is kept sorted by (the time module binary-searches it)
TIME_ORDER = {"events": "timestamp", "surveys": "answered_at", "tickets": "opened_at", "churn": "churned_at"}
ROW_NUMBER = "__row"  # a source's own row number, carried by hash partitions (not data)


def find_table(folder: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def require_table(folder: Path, name: str, require_churn: bool) -> None:
    """Raise when a table the run cannot do without is absent from `folder`."""
    if name == "clients" or (name == "churn" and require_churn):
        need = "is required" if name == "clients" else "is required to train (who left and when)"
        raise ContractError(f"table {need}: add {name}.csv or {name}.parquet", file=str(Path(folder) / name))


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
        return list(names)
    known = {*REQUIRED_COLUMNS[name], *OPTIONAL_COLUMNS[name]}
    return [c for c in names if str(c).strip().lower() in known]


def dictionary_columns(name: str, schema: pa.Schema) -> list[str]:
    """Text columns that repeat a lot: read as dictionaries (pandas categoricals), cheap."""
    return [c for c in ("client_id", *CATEGORY_COLUMNS.get(name, ())) if c in schema.names
            and (pa.types.is_string(schema.field(c).type) or pa.types.is_large_string(schema.field(c).type))]


@dataclass(frozen=True)
class CsvLayout:
    """How a CSV file is laid out: separator, the header as written, the columns to read."""

    delimiter: str
    header: list[str]
    columns: list[str]

    def options(self, name: str, dictionary: bool = True) -> tuple:
        keep = ["client_id", *CATEGORY_COLUMNS.get(name, ())] if dictionary else []
        types = {c: (pa.dictionary(pa.int32(), pa.string()) if c.strip().lower() in keep else pa.string())
                 for c in self.header}
        return (pacsv.ParseOptions(delimiter=self.delimiter),
                pacsv.ConvertOptions(column_types=types, include_columns=self.columns, strings_can_be_null=True,
                                     null_values=[""], quoted_strings_can_be_null=True))


def csv_layout(path: Path, name: str) -> CsvLayout:
    with path.open("r", encoding="utf-8", newline="") as handle:
        first_line = handle.readline()
    layout = layout_of_header(first_line, name)
    if layout.delimiter != ",":
        log.info("%s: read with %r as the separator", path.name, layout.delimiter)
    return layout


def layout_of_header(first_line: str, name: str) -> CsvLayout:
    """The layout a CSV's header line gives (separator, names as written, the columns to read)."""
    first_line = first_line.lstrip("\ufeff").rstrip("\r\n")
    delimiter = delimiter_of(first_line)
    header = [h.strip().strip('"') for h in first_line.split(delimiter)]
    return CsvLayout(delimiter, header, contract_columns(name, header))


def delimiter_of(header: str) -> str:
    """The contract's comma; a spreadsheet in a Spanish locale saves ';' (or a tab) instead."""
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in (";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@contextmanager
def as_contract_errors(path: Path):
    """Turn what a reader raises on a bad file into a ContractError naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise ContractError(f"is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV",
                            file=path.name) from None
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        message = str(exc).splitlines()[0]
        if "utf8" in message.lower() or "utf-8" in message.lower():
            raise ContractError(f"is not UTF-8 text ({message}); save it as UTF-8 CSV", file=path.name) from None
        kind = "Parquet" if path.suffix == ".parquet" else "CSV"
        raise ContractError(f"cannot be read as {kind} ({message})", file=path.name) from None


def read_raw(path: Path, name: str) -> pd.DataFrame:
    """The columns worth reading, as written; repeated text arrives as categoricals (cheap)."""
    with as_contract_errors(path):
        if path.suffix == ".parquet":
            schema = pq.read_schema(path)
            table = pq.read_table(path, columns=contract_columns(name, schema.names),
                                  read_dictionary=dictionary_columns(name, schema))
        else:
            layout = csv_layout(path, name)
            parse, convert = layout.options(name)
            table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="utf8"), parse_options=parse,
                                   convert_options=convert)
    return normalised(table.to_pandas())


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    return frame
