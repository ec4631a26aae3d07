"""Property: whatever bytes or rows arrive, a read either succeeds with every row accounted for
(rows in = rows used + rows set aside) or stops with a `ContractError`; never another exception."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.errors import ContractError
from pipeline.data.contract import load_folder

CLIENTS = "client_id,signup_date,monthly_value,plan\nc1,2024-01-01,10,basic\nc2,2024-01-02,20,pro\n"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_events_parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"client_id": ["c1", "c2"] * 20,
                             "timestamp": pa.array([1706745600_000_000] * 40, pa.timestamp("us", tz="UTC")),
                             "event_type": ["login", "buy"] * 20}), sink)
    return sink.getvalue()


VALID_PARQUET = _valid_events_parquet()


def _read(files: dict[str, bytes]) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        (folder / "clients.csv").write_bytes(CLIENTS.encode())
        for name, data in files.items():
            (folder / name).write_bytes(data)
        try:
            result = load_folder(folder, quarantine_dir=folder / "quarantine", max_rejected_share=1.0,
                                 require_churn=False)
        except ContractError as exc:
            assert "\n" not in str(exc) and str(exc)
            return
        for report in result.reports.values():
            assert report.rows_in == report.rows_used + report.rows_quarantined, report
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_a_csv(data):
    _read({"events.csv": b"client_id,timestamp,event_type,value\n" + data})
    _read({"clients.csv": data})


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID_PARQUET) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(8, len(VALID_PARQUET)))
def test_arbitrary_bytes_in_a_parquet_file(flips, length):
    data = bytearray(VALID_PARQUET[:length])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    _read({"events.parquet": bytes(data)})


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_a_parquet_file(data):
    _read({"events.parquet": b"PAR1" + data + b"PAR1"})


LETTERS = st.characters(exclude_categories=("Cs",))  # no lone surrogates: they cannot be written as UTF-8
CELLS = st.one_of(
    st.none(), st.just(""), st.text(LETTERS, max_size=20), st.text(LETTERS, min_size=300, max_size=400),
    st.sampled_from(["c1", "c2", " c1 ", "2024-02-01", "2024-02-01T10:00:00+05:00", "9999-12-31", "10000-01-01",
                     "1.234,5", "2.000", "1,234", "10,5", "n/a", "=HYPERLINK(\"x\")", "nan", "inf", "-0", "1e308",
                     "\x00", "\ufeff", "true"]),
    st.integers(-(10**20), 10**20).map(str), st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.dates().map(str), st.datetimes().map(str))
ROWS = st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS), max_size=12)


@FUZZ
@given(ROWS, st.sampled_from([",", ";"]))
def test_arbitrary_rows_as_csv(rows, separator):
    frame = pd.DataFrame(rows, columns=["client_id", "timestamp", "event_type", "value"], dtype=object)
    events = frame.to_csv(index=False, sep=separator).encode("utf-8")
    clients = frame.rename(columns={"timestamp": "signup_date", "event_type": "plan", "value": "monthly_value"})
    _read({"events.csv": events})
    _read({"clients.csv": clients.to_csv(index=False, sep=separator).encode("utf-8")})


@FUZZ
@given(ROWS)
def test_arbitrary_rows_as_parquet(rows):
    frame = pd.DataFrame(rows, columns=["client_id", "timestamp", "event_type", "value"], dtype=object)
    sink = io.BytesIO()
    table = pa.Table.from_pandas(frame.astype("string"), preserve_index=False)
    pq.write_table(table, sink)
    _read({"events.parquet": sink.getvalue()})
