"""The readers under attack (issue 16): text length limits, Parquet folders, decimal marks, years past
9999, unreadable files, formula triggers in quarantine, header names, and the odd file a user sends.

Each case reads a tiny hand-made folder as the pipeline does and expects either a `ContractError`
naming the file (and column), or rows set aside with their reason, rows in = rows used + rows set aside.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.errors import ContractError
from pipeline.config import DataConfig, load_config
from pipeline.data import partitions
from pipeline.data.contract import load_folder
from pipeline.data.quarantine import quarantine_csv
from pipeline.data.totals import InputTotals
from pipeline.data.values import Limits
from pipeline.engines.partitioned import checked_partition

CLIENTS = "client_id,signup_date,monthly_value,plan\nc1,2024-01-01,10,basic\nc2,2024-01-02,20,pro\n"
LONG = "client_id is longer than 256 characters (data.max_text_length)"


def folder_of(root: Path, **files: str | bytes) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (root / name).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return root


def load(folder: Path, limits: Limits | None = None):
    result = load_folder(folder, quarantine_dir=folder / "quarantine", max_rejected_share=1.0, require_churn=False,
                         limits=limits)
    for report in result.reports.values():
        assert report.rows_in == report.rows_used + report.rows_quarantined, report
    return result


def quarantined(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / "quarantine" / f"{table}.csv", dtype=str, keep_default_na=False)


def events_frame(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"client_id": ids, "timestamp": pd.to_datetime(["2024-02-01"] * len(ids), utc=True),
                         "event_type": ["login"] * len(ids)})


# ----------------------------------------------------------------------------------------- text limits

def test_an_over_long_client_id_is_set_aside_without_memory_growing_with_it(tmp_path):
    ids = [f"c{i}" for i in range(300)]
    ids[7] = "x" * (1 << 20)  # 1 MB: distinct ids x longest value would be 1.2 GB
    frame = pd.DataFrame({"client_id": ids, "signup_date": "2024-01-01"})
    folder = tmp_path / "data"
    folder.mkdir()
    frame.to_csv(folder / "clients.csv", index=False)
    events_frame(ids).to_parquet(folder / "events.parquet", index=False)

    tracemalloc.start()
    try:
        result = load(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert peak < 150 << 20, f"{peak / 2**20:.0f} MB"
    for table in ("clients", "events"):
        assert (result.reports[table].rows_in, result.reports[table].rows_used) == (300, 299)
        assert result.reports[table].reasons == {LONG: 1}
        assert quarantined(folder, table)["client_id"].str.len().tolist() == [1 << 20]
    assert "x" * 300 not in set(result.tables.clients["client_id"].astype(str))


def test_the_limit_is_a_setting_and_free_text_has_its_own(tmp_path):
    comment = "slow app " * 40  # 360 characters: free text, within data.max_comment_length
    folder = folder_of(tmp_path / "data", **{
        "clients.csv": CLIENTS.replace("basic", "basic-plan-with-a-long-name"),
        "surveys.csv": f"client_id,answered_at,score,comment\nc1,2024-02-01,9,{comment}\n"
                       f"c2,2024-02-01,3,{'x' * 30}\n"})
    default = load(folder)
    assert default.reports["surveys"].rows_quarantined == 0 and default.reports["clients"].rows_quarantined == 0

    config = load_config(None, {"data": {"max_text_length": 10, "max_comment_length": 100}})
    tight = load(folder, Limits.of(config.data))
    assert tight.reports["clients"].reasons == {"plan is longer than 10 characters (data.max_text_length)": 1}
    assert tight.reports["surveys"].reasons == {
        "comment is longer than 100 characters (data.max_comment_length)": 1}
    assert Limits.of(DataConfig()) == Limits(256, 10_000, 1_000)


def test_a_control_character_in_an_id_or_code_sets_its_row_aside(tmp_path):
    folder = folder_of(tmp_path / "data", **{
        "clients.csv": CLIENTS + "c\x003,2024-01-03,5,basic\nc4,2024-01-03,5,ba\x07sic\n"})
    result = load(folder)
    assert result.reports["clients"].reasons == {"client_id holds a control character (NUL or the like)": 1,
                                                 "plan holds a control character (NUL or the like)": 1}
    assert sorted(result.tables.clients["client_id"].astype(str)) == ["c1", "c2"]


# ----------------------------------------------------------------------------------------- Parquet folders

@pytest.mark.parametrize("folder_name, shown", [("events", "events/"), ("events.parquet", "events.parquet")])
def test_a_folder_of_parquet_parts_is_read_as_one_table(tmp_path, folder_name, shown):
    folder = folder_of(tmp_path / "data", **{"clients.csv": CLIENTS})
    parts = folder / folder_name
    (parts / "day=1").mkdir(parents=True)
    events_frame(["c1", "c2"]).to_parquet(parts / "part-0.parquet", index=False)
    events_frame(["c2", "ghost"]).rename(columns={"Event_Type": "event_type"}).to_parquet(
        parts / "day=1" / "part-1.parquet", index=False)
    (parts / "_SUCCESS").write_bytes(b"")

    result = load(folder)

    events = result.reports["events"]
    assert (events.file, events.rows_in, events.rows_used, events.reasons) == (
        shown, 4, 3, {"unknown client_id (not in clients)": 1})
    assert len(result.tables.events) == 3
    # the partitioned engine reads the same folder into the same counts
    split = partitions.split(folder, tmp_path / "split", 2, require_churn=False)
    totals = InputTotals()
    for p in range(2):
        totals.account(checked_partition(split, p))
    assert {n: (r.file, r.rows_in, r.rows_used) for n, r in totals.reports.items()} == {
        n: (r.file, r.rows_in, r.rows_used) for n, r in result.reports.items()}
    assert totals.fingerprint() == result.fingerprint


def test_a_bad_part_file_is_named_and_an_empty_folder_is_refused(tmp_path):
    folder = folder_of(tmp_path / "data", **{"clients.csv": CLIENTS})
    (folder / "events").mkdir()
    with pytest.raises(ContractError, match=r"^events/: is a folder without Parquet files"):
        load(folder)
    events_frame(["c1"]).to_parquet(folder / "events" / "part-0.parquet", index=False)
    (folder / "events" / "part-1.parquet").write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 500,
                                                                                               dtype=np.uint8)))
    with pytest.raises(ContractError, match=r"^events/part-1\.parquet: cannot be read as Parquet \(.+\)$"):
        load(folder)


# ----------------------------------------------------------------------------------------- decimal marks

def _monthly_values(folder: Path, result) -> dict[str, object]:
    clients = result.tables.clients.set_index(result.tables.clients["client_id"].astype(str))
    out: dict[str, object] = {k: float(v) for k, v in clients["monthly_value"].items()}
    if (folder / "quarantine" / "clients.csv").exists():
        out.update({r["client_id"]: r["reason"] for _, r in quarantined(folder, "clients").iterrows()})
    return out


DECIMAL_COMMA = "decimal-comma file (write 1.234,5 or 1234,5)"
AMBIGUOUS = "(is 1,234 or 2.000 a thousands separator or a decimal mark?)"


@pytest.mark.parametrize("separator, values, expected", [
    (";", ["2.000", "1.234,5", "2,5", "7", "1.234.567", "0,5", "n/a"],
     [2000.0, 1234.5, 2.5, 7.0, 1234567.0, 0.5, "monthly_value is not a number"]),
    (";", ["2,5", "2.5", "1.23,4", "12.00"],
     [2.5] + [f"monthly_value is not a clear number for a {DECIMAL_COMMA}"] * 3),
    (";", ["2.5", "3.75", "2.000"], [2.5, 3.75, f"monthly_value is not a clear number {AMBIGUOUS}"]),
    (",", ['"10,5"', '"1,234"', '"1,234.5"', "2.000", "n/a"],
     [10.5, f"monthly_value is not a clear number {AMBIGUOUS}", 1234.5, 2.0, "monthly_value is not a number"]),
], ids=["decimal comma with thousands", "decimal comma: malformed", "';' file written with decimal points",
        "comma file"])
def test_the_decimal_mark_follows_the_file_and_unclear_numbers_are_set_aside(tmp_path, separator, values, expected):
    lines = [separator.join(["client_id", "signup_date", "monthly_value"])]
    lines += [separator.join([f"c{i}", "2024-01-01", value]) for i, value in enumerate(values)]
    folder = folder_of(tmp_path / "data", **{"clients.csv": "\n".join(lines) + "\n"})
    result = load(folder)
    assert _monthly_values(folder, result) == {f"c{i}": e for i, e in enumerate(expected)}


def test_a_decimal_comma_column_with_a_bad_value_keeps_the_rest(tmp_path):
    folder = folder_of(tmp_path / "data", **{
        "clients.csv": "client_id;signup_date\nc1;2024-01-01\nc2;2024-01-01\n",
        "events.csv": "client_id;timestamp;event_type;value\nc1;2024-02-01;buy;10,5\nc2;2024-02-01;buy;n/a\n"
                      "c2;2024-02-02;buy;\n"})
    result = load(folder)
    assert result.reports["events"].reasons == {"value is not a usable number": 1}
    assert result.tables.events["value"].tolist()[:1] == [10.5] and result.tables.events["value"].isna().sum() == 1


# ----------------------------------------------------------------------------------------- times past 9999

def test_parquet_times_past_year_9999_are_set_aside_and_written_to_quarantine(tmp_path):
    folder = folder_of(tmp_path / "data", **{"clients.csv": CLIENTS})
    far = 253402300800_000_000 + 86_400_000_000  # 10000-01-02 in microseconds
    pq.write_table(pa.table({"client_id": ["c1", "c2"],
                             "timestamp": pa.array([far, 1706745600_000_000], pa.timestamp("us", tz="UTC")),
                             "event_type": ["login", "login"]}), folder / "events.parquet")
    pq.write_table(pa.table({"client_id": ["c1", "c2"], "churned_at": pa.array([2932897 + 10, 19800], pa.date32())}),
                   folder / "churn.parquet")
    result = load(folder)
    assert result.reports["events"].reasons == {"timestamp is out of range (1900-2200)": 1}
    assert result.reports["churn"].reasons == {"churned_at is out of range (1900-2200)": 1}
    assert quarantined(folder, "events")["timestamp"].tolist() == ["10000-01-02 00:00:00+00:00"]


# ----------------------------------------------------------------------------------------- quarantine files

def test_formula_triggers_in_quarantine_files_are_neutralised(tmp_path):
    folder = folder_of(tmp_path / "data", **{
        "clients.csv": CLIENTS + 'c1,2024-01-03,5,"=HYPERLINK(""http://x"",""y"")"\nc2,2024-01-04,6,@SUM(1)\n'})
    load(folder)
    assert quarantined(folder, "clients")["plan"].tolist() == ["'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(1)"]
    rows = pd.DataFrame({"a": ["+1", "\tx", None, "ok"], "n": [-1.0, 2.0, None, 3.0]})
    assert quarantine_csv(rows).decode() == "a,n\n'+1,-1.0\n'\tx,2.0\n,\nok,3.0\n"


# ----------------------------------------------------------------------------------------- header names

def test_header_names_are_trimmed(tmp_path):
    folder = folder_of(tmp_path / "data", **{
        "clients.csv": " client_id , Signup_Date ,monthly_value\nc1,2024-01-01,1\n",
        "events.csv": "client_id ;  timestamp; event_type \nc1;2024-02-01;login\n"})
    result = load(folder)
    assert list(result.tables.clients.columns[:3]) == ["client_id", "signup_date", "monthly_value"]
    assert result.reports["events"].rows_used == 1


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_two_headers_equal_once_normalised_are_refused_naming_both(tmp_path, kind):
    folder = tmp_path / "data"
    folder.mkdir()
    frame = pd.DataFrame([["c1", "2024-01-01", "a", "b"]], columns=["client_id", "signup_date", "Plan", "plan "])
    if kind == "csv":
        frame.to_csv(folder / "clients.csv", index=False)
    else:
        frame.to_parquet(folder / "clients.parquet", index=False)
    with pytest.raises(ContractError, match=r"^clients\.(csv|parquet), column 'plan': column appears 2 times in "
                                            r"the header, as 'Plan', 'plan ' \(names compare trimmed"):
        load(folder)


# ----------------------------------------------------------------------------------------- what users send

def test_bom_crlf_and_a_quoted_newline_are_read(tmp_path):
    text = "\ufeff" + CLIENTS.replace("\n", "\r\n") + 'c3,2024-01-03,5,"two\r\nlines"\r\n'
    result = load(folder_of(tmp_path / "data", **{"clients.csv": text}))
    assert result.reports["clients"].rows_used == 3
    assert result.tables.clients["plan"].tolist()[-1] == "two\r\nlines"


def test_a_10000_column_header_is_refused_quickly_and_a_missing_column_message_stays_short(tmp_path):
    header = ",".join(f"x{i}" for i in range(10_000))
    folder = folder_of(tmp_path / "data", **{
        "clients.csv": f"client_id,signup_date,{header}\nc1,2024-01-01{',1' * 10_000}\n",
        "events.csv": f"client_id,timestamp,{header}\nc1,2024-02-01{',1' * 10_000}\n"})
    with pytest.raises(ContractError, match=r"^clients\.csv: has 10002 columns, more than data\.max_columns "
                                            r"\(1000\)$"):
        load(folder)
    some = ",".join(f"x{i}" for i in range(300))
    (folder / "clients.csv").write_text(f"client_id,{some}\nc1{',1' * 300}\n")
    with pytest.raises(ContractError, match=r"^clients\.csv, column 'signup_date': required column is missing "
                                            r"\(found: client_id, x0, x1, .*, x18 and 281 more\)$"):
        load(folder)
    (folder / "clients.csv").write_text(CLIENTS)
    with pytest.raises(ContractError, match=r"^events\.csv, column 'event_type': required column is missing "
                                            r"\(found: client_id, timestamp\)$"):  # only the contract's are read
        load(folder)
    narrow = load_config(None, {"data": {"max_columns": 3}}).data
    with pytest.raises(ContractError, match=r"^clients\.csv: has 4 columns, more than data\.max_columns \(3\)$"):
        load(folder, Limits.of(narrow))


@pytest.mark.parametrize("data, match", [
    ("client_id,signup_date\nc1,2024-01-01\nc2\n", r"1 row\(s\) have another number of fields than the "
                                                    r"header's 2 \(the first has 1: 'c2'\)"),
    ("client_id,signup_date\nc1,2024-01-01,extra\nc2,2024-01-02\nc3,x,y,z\n",
     r"2 row\(s\) have another number of fields than the header's 2 \(the first has 3: 'c1,2024-01-01,extra'\); "
     r"quote a value that holds the separator, or remove the row$"),
    ("", r"Empty CSV file"),
    ("client_id,signup_date\n", r"has no rows"),
], ids=["fewer fields", "more fields", "empty file", "header only"])
def test_a_ragged_or_empty_csv_stops_naming_the_file(tmp_path, data, match):
    with pytest.raises(ContractError, match=rf"^clients\.csv: .*{match}"):
        load(folder_of(tmp_path / "data", **{"clients.csv": data}))


def test_ragged_rows_are_counted_alike_when_the_file_is_read_in_partitions(tmp_path):
    """The nightly scorer's partitioned reader names the same count as the one-pass reader."""
    from pipeline.data import partitions

    rows = "".join(f"c{i},2024-01-01\n" for i in range(50)) + "c50,2024-01-01,x\nc51\n"
    folder = folder_of(tmp_path / "data", **{"clients.csv": "client_id,signup_date\n" + rows})
    with pytest.raises(ContractError, match=r"^clients\.csv: 2 row\(s\) have another number of fields") as one:
        load(folder)
    with pytest.raises(ContractError) as split:
        partitions.split(folder, tmp_path / "split", 2, require_churn=False)
    assert str(split.value) == str(one.value) and split.value.count == 2
