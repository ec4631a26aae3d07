"""The bad-input battery: every kind of broken input meets a clear message or a quarantine.

A tiny valid folder (every contract table, some CSV, some Parquet) is written to tmp_path, one
thing is broken, and the folder is read as the pipeline reads it. Each kind expects either
- a `ContractError` naming the file (and the column, and a count where one applies), or
- quarantine: `<quarantine>/<table>.csv` holds exactly the broken rows with their `reason`,
  every table keeps rows in = rows used + rows quarantined, and the other rows are used;
or, for input the contract accepts (rows after the as-of, mixed offsets, empty optional tables
and columns), that it is read the way the contract says.

Broken rows carry the text BROKEN in a free column (plan, event_type, comment, category) so
the quarantine file and the kept rows can be told apart without row numbers.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from features import FeaturesConfig, build_features, fit_spec
from features.errors import ContractError
from pipeline.config import DataConfig
from pipeline.data.contract import load_folder

AS_OF = pd.Timestamp("2024-03-31")
MARK = "BROKEN"
MARK_COLUMN = {"clients": "plan", "events": "event_type", "surveys": "comment", "tickets": "category",
               "churn": "client_id"}
FORMATS = {"clients": "csv", "events": "parquet", "surveys": "csv", "tickets": "parquet", "churn": "csv"}
UNKNOWN = "unknown client_id (not in clients)"


def utc(*texts: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(texts), utc=True)).astype("datetime64[us, UTC]")


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def valid_tables() -> dict[str, pd.DataFrame]:
    """CSV tables as text (as written by hand), Parquet tables typed (as written by a program)."""
    return {
        "clients": pd.DataFrame({"client_id": ["c1", "c2", "c3", "c4"],
                                 "signup_date": ["2024-01-01", "2024-01-15", "2024-02-01", "2024-02-10"],
                                 "monthly_value": ["10.5", "20", "30", ""],
                                 "plan": ["basic", "pro", "basic", "pro"]}),
        "events": pd.DataFrame({"client_id": ["c1", "c1", "c2", "c3", "c4"],
                                "timestamp": utc("2024-03-01 10:00", "2024-03-05 12:00", "2024-03-02 09:00",
                                                 "2024-03-10 18:30", "2024-03-20 08:00"),
                                "event_type": ["login", "purchase", "login", "page_view", "login"],
                                "channel": ["web", "app", "web", "web", "app"],
                                "value": [None, 25.0, None, 3.0, None]}),
        "surveys": pd.DataFrame({"client_id": ["c1", "c2", "c3"],
                                 "answered_at": ["2024-03-03T10:00:00Z", "2024-03-04T11:00:00Z",
                                                 "2024-03-06T12:00:00Z"],
                                 "score": ["9", "3", "7"], "comment": ["great", "slow app", ""]}),
        "tickets": pd.DataFrame({"ticket_id": ["t1", "t2", "t3"], "client_id": ["c1", "c2", "c2"],
                                 "opened_at": utc("2024-03-02 08:00", "2024-03-10 09:00", "2024-03-12 09:00"),
                                 "first_response_at": utc("2024-03-02 09:00", None, "2024-03-12 10:00"),
                                 "resolved_at": utc("2024-03-03 08:00", None, "2024-03-13 10:00"),
                                 "priority": ["high", "low", "medium"], "category": ["billing", "technical", "billing"],
                                 "satisfaction": [4.0, None, 2.0]}),
        "churn": pd.DataFrame({"client_id": ["c3"], "churned_at": ["2024-03-20"]}),
    }


def add(tables: dict[str, pd.DataFrame], name: str, **row) -> None:
    tables[name] = pd.concat([tables[name], pd.DataFrame([row])], ignore_index=True)


def write_folder(folder: Path, tables: dict[str, pd.DataFrame], formats: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    formats = {**FORMATS, **(formats or {})}
    for name, frame in tables.items():
        for old in folder.glob(f"{name}.*"):
            old.unlink()
        if formats[name] == "parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def load(folder: Path, share: float = 1.0, require_churn: bool = False):
    return load_folder(folder, quarantine_dir=folder / "quarantine", max_rejected_share=share,
                       require_churn=require_churn)


def marked(values: pd.Series, mark: str = MARK) -> pd.Series:
    return values.astype("string").str.upper().eq(mark.upper()).fillna(False)


def test_the_valid_folder_loads_clean(tmp_path):
    result = load(write_folder(tmp_path / "data", valid_tables()))
    assert {n: (r.rows_in, r.rows_used) for n, r in result.reports.items()} == {
        "clients": (4, 4), "events": (5, 5), "surveys": (3, 3), "tickets": (3, 3), "churn": (1, 1)}
    assert not (tmp_path / "data" / "quarantine").exists()


# ----------------------------------------------------------------------------------------- quarantine

def _text_in_monthly_value(t, f):
    add(t, "clients", client_id="c9", signup_date="2024-02-15", monthly_value="lots", plan=MARK)


def _text_in_nps_score(t, f):
    add(t, "surveys", client_id="c4", answered_at="2024-03-07T10:00:00Z", score="nine", comment=MARK)


def _text_in_a_parquet_number_column(t, f):
    t["events"] = t["events"].assign(value=[None if pd.isna(v) else str(v) for v in t["events"]["value"]])
    add(t, "events", client_id="c4", timestamp=at("2024-03-21 10:00"), event_type=MARK, value="n/a")


def _booleans_as_nps_score_in_parquet(t, f):
    f["surveys"] = "parquet"
    t["surveys"] = t["surveys"].assign(score=[True, False, True], comment=MARK)


def _epoch_seconds_as_opened_at_in_parquet(t, f):
    opened = t["tickets"]["opened_at"]
    t["tickets"] = t["tickets"].assign(opened_at=(opened - at("1970-01-01")) // pd.Timedelta(seconds=1),
                                       category=MARK)


def _unparseable_signup_date(t, f):
    add(t, "clients", client_id="c8", signup_date="2024-02-30", monthly_value="5", plan=MARK)
    add(t, "clients", client_id="c9", signup_date="03/15/2024", monthly_value="5", plan=MARK)


def _unparseable_answered_at(t, f):
    add(t, "surveys", client_id="c4", answered_at="yesterday", score="8", comment=MARK)


def _duplicate_client_id(t, f):
    add(t, "clients", client_id="c2", signup_date="2024-01-20", monthly_value="99", plan=MARK)


def _duplicate_ticket_id(t, f):
    add(t, "tickets", ticket_id="t1", client_id="c4", opened_at=at("2024-03-15 10:00"), category=MARK)


def _duplicate_client_id_in_churn(t, f):
    t["churn"] = pd.DataFrame({"client_id": ["c3", "c3"], "churned_at": ["2024-03-20", "2024-03-25"]})


def _negative_monthly_value(t, f):
    add(t, "clients", client_id="c9", signup_date="2024-02-15", monthly_value="-5", plan=MARK)


def _nps_score_11_and_minus_1(t, f):
    add(t, "surveys", client_id="c4", answered_at="2024-03-07T10:00:00Z", score="11", comment=MARK)
    add(t, "surveys", client_id="c4", answered_at="2024-03-08T10:00:00Z", score="-1", comment=MARK)


def _unknown_client_in(name: str) -> Callable:
    rows = {"events": dict(client_id="ghost", timestamp=at("2024-03-05 10:00"), event_type=MARK),
            "surveys": dict(client_id="ghost", answered_at="2024-03-05T10:00:00Z", score="5", comment=MARK),
            "tickets": dict(ticket_id="t9", client_id="ghost", opened_at=at("2024-03-05 10:00"), category=MARK),
            "churn": dict(client_id=MARK, churned_at="2024-03-25")}
    return lambda t, f: add(t, name, **rows[name])


def _resolved_before_opened(t, f):
    add(t, "tickets", ticket_id="t9", client_id="c4", opened_at=at("2024-03-15 10:00"),
        resolved_at=at("2024-03-14 10:00"), category=MARK)


def _timestamp_in_year_9999(t, f):
    add(t, "events", client_id="c1", timestamp=at("9999-12-31 00:00"), event_type=MARK)


def _signup_in_year_9999(t, f):
    add(t, "clients", client_id="c9", signup_date="9999-01-01", monthly_value="5", plan=MARK)


def _value_1e300(t, f):
    add(t, "events", client_id="c1", timestamp=at("2024-03-06 10:00"), event_type=MARK, value=1e300)


def _monthly_value_1e300(t, f):
    add(t, "clients", client_id="c9", signup_date="2024-02-15", monthly_value="1e300", plan=MARK)


def _required_column_entirely_empty(t, f):
    t["events"] = t["events"].assign(timestamp=pd.Series([pd.NaT] * 5, dtype="datetime64[us, UTC]"),
                                     event_type=MARK)


QUARANTINE = [
    pytest.param("clients", "monthly_value is not a number", _text_in_monthly_value,
                 id="wrong type: text in monthly_value"),
    pytest.param("surveys", "score is not a number", _text_in_nps_score, id="wrong type: text in NPS score"),
    pytest.param("events", "value is not a usable number", _text_in_a_parquet_number_column,
                 id="wrong type: text in a Parquet number column"),
    pytest.param("surveys", "score is not a number", _booleans_as_nps_score_in_parquet,
                 id="wrong type: true-false as NPS score in Parquet"),
    pytest.param("tickets", "opened_at is not a date/time", _epoch_seconds_as_opened_at_in_parquet,
                 id="wrong type: epoch seconds as opened_at in Parquet"),
    pytest.param("clients", "signup_date is not a date/time", _unparseable_signup_date, id="unparseable date"),
    pytest.param("surveys", "answered_at is not a date/time", _unparseable_answered_at, id="unparseable datetime"),
    pytest.param("clients", "duplicate client_id (first row kept)", _duplicate_client_id, id="duplicate client_id"),
    pytest.param("tickets", "duplicate ticket_id (first row kept)", _duplicate_ticket_id, id="duplicate ticket_id"),
    pytest.param("churn", "duplicate client_id (first row kept)", _duplicate_client_id_in_churn,
                 id="duplicate client_id in churn"),
    pytest.param("clients", "monthly_value is negative", _negative_monthly_value, id="negative monthly_value"),
    pytest.param("surveys", "score is not an integer from 0 to 10", _nps_score_11_and_minus_1,
                 id="NPS score 11 and -1"),
    *[pytest.param(name, UNKNOWN, _unknown_client_in(name), id=f"unknown client_id in {name}")
      for name in ("events", "surveys", "tickets", "churn")],
    pytest.param("tickets", "resolved before it was opened", _resolved_before_opened,
                 id="ticket resolved before it was opened"),
    pytest.param("events", "timestamp is out of range (1900-2200)", _timestamp_in_year_9999,
                 id="absurd: timestamp in year 9999 in Parquet"),
    pytest.param("clients", "signup_date is out of range (1900-2200)", _signup_in_year_9999,
                 id="absurd: date in year 9999 in CSV"),
    pytest.param("events", "value is not a usable number (infinite or magnitude above 1e+15)", _value_1e300,
                 id="absurd: value 1e300"),
    pytest.param("clients", "monthly_value is out of range (infinite or magnitude above 1e+15)",
                 _monthly_value_1e300, id="absurd: monthly_value 1e300"),
    pytest.param("events", "timestamp is empty", _required_column_entirely_empty,
                 id="all-empty column: a required one"),
]


@pytest.mark.parametrize("table, reason, breaks", QUARANTINE)
def test_broken_rows_are_quarantined_with_their_reason(tmp_path, table, reason, breaks):
    tables, formats = valid_tables(), dict(FORMATS)
    breaks(tables, formats)
    # churn has no free column: its duplicate row is told apart by its date
    column, mark = (("churned_at", "2024-03-25") if breaks is _duplicate_client_id_in_churn
                    else (MARK_COLUMN[table], MARK))
    n_broken = int(marked(tables[table][column], mark).sum())
    assert n_broken >= 1
    folder = write_folder(tmp_path / "data", tables, formats)

    result = load(folder)

    for report in result.reports.values():
        assert report.rows_in == report.rows_used + report.rows_quarantined, report
    assert {n: r.rows_quarantined for n, r in result.reports.items()} == {
        n: n_broken if n == table else 0 for n in result.reports}
    assert result.reports[table].reasons == {reason: n_broken}
    assert sorted(p.name for p in (folder / "quarantine").iterdir()) == [f"{table}.csv"]
    quarantined = pd.read_csv(folder / "quarantine" / f"{table}.csv", dtype=str, keep_default_na=False)
    assert quarantined["reason"].tolist() == [reason] * n_broken
    assert marked(quarantined[column], mark).all()
    kept = getattr(result.tables, table)
    assert len(kept) == len(tables[table]) - n_broken
    kept_marks = kept[column].dt.strftime("%Y-%m-%d") if column == "churned_at" else kept[column]
    assert not marked(kept_marks, mark).any()


def test_rejected_share_above_the_limit_stops_naming_the_file_and_the_share(tmp_path):
    tables = valid_tables()
    _unknown_client_in("events")(tables, None)
    folder = write_folder(tmp_path / "data", tables)
    with pytest.raises(ContractError, match=r"^events\.parquet: 1 of 6 rows \(16\.7%\) break the contract, above "
                                            r"max_rejected_share 10\.0%: unknown client_id \(not in clients\) \(1\); "
                                            r"see .*quarantine.events\.csv$"):
        load(folder, share=0.10)
    assert (folder / "quarantine" / "events.csv").exists()  # the evidence stays for the user
    assert load(folder, share=0.20).reports["events"].rows_quarantined == 1


def test_a_required_column_entirely_empty_stops_at_the_default_share(tmp_path):
    tables = valid_tables()
    _required_column_entirely_empty(tables, None)
    folder = write_folder(tmp_path / "data", tables)
    with pytest.raises(ContractError, match=r"^events\.parquet: 5 of 5 rows \(100\.0%\) break the contract.*"
                                            r"timestamp is empty \(5\)"):
        load(folder, share=DataConfig().max_rejected_share)


def test_a_clients_table_with_no_usable_row_stops_whatever_the_share(tmp_path):
    tables = valid_tables()
    tables["clients"] = tables["clients"].assign(signup_date=None)
    folder = write_folder(tmp_path / "data", tables)
    with pytest.raises(ContractError, match=r"^clients\.csv: has no usable rows: all \d+ break the contract "
                                            r"\(signup_date is empty \(\d+\)\)$"):
        load(folder, share=1.0)
    assert (folder / "quarantine" / "clients.csv").exists()


# ----------------------------------------------------------------------------------------- clear messages

def _remove(folder: Path, name: str) -> None:
    for path in folder.glob(f"{name}.*"):
        path.unlink()


def _replace(folder: Path, file: str, data: bytes) -> None:
    _remove(folder, file.split(".")[0])
    (folder / file).write_bytes(data)


def _without_column(name: str, column: str) -> Callable[[Path], None]:
    return lambda folder: write_folder(folder, {name: valid_tables()[name].drop(columns=[column])})


def _clients_csv(**changes) -> str:
    return valid_tables()["clients"].assign(**changes).to_csv(index=False)


def _truncated(file: str) -> Callable[[Path], None]:
    def spoil(folder: Path) -> None:
        data = (folder / file).read_bytes()
        (folder / file).write_bytes(data[: len(data) // 2])
    return spoil


def _latin1_clients(folder: Path) -> None:
    _replace(folder, "clients.csv", _clients_csv(plan=["Pequeño", "pro", "basic", "pro"]).encode("latin-1"))


def _cp1252_survey_comment(folder: Path) -> None:
    text = valid_tables()["surveys"].assign(comment=["“great”", "", ""]).to_csv(index=False)
    _replace(folder, "surveys.csv", text.encode("cp1252"))


def _utf16_clients(folder: Path) -> None:
    _replace(folder, "clients.csv", _clients_csv().encode("utf-16"))


def _header_only_clients(folder: Path) -> None:
    _replace(folder, "clients.csv", b"client_id,signup_date,monthly_value,plan\n")


def _zero_byte_events(folder: Path) -> None:
    _replace(folder, "events.csv", b"")


def _same_column_twice(folder: Path) -> None:
    _replace(folder, "clients.csv", _clients_csv().replace("plan", "Plan,plan", 1).replace(
        "basic\n", "basic,basic\n").replace("pro\n", "pro,pro\n").encode())


class Stop(NamedTuple):
    match: str
    column: str | None = None
    count: int | None = None
    require_churn: bool = False


MESSAGES = [
    pytest.param(lambda folder: _remove(folder, "clients"),
                 Stop(r"data[/\\]clients: table is required: add clients\.csv or clients\.parquet$"),
                 id="missing file: clients"),
    pytest.param(lambda folder: _remove(folder, "churn"),
                 Stop(r"churn: table is required to train .*add churn\.csv or churn\.parquet$", require_churn=True),
                 id="missing file: churn when training"),
    pytest.param(_without_column("clients", "signup_date"),
                 Stop(r"^clients\.csv, column 'signup_date': required column is missing \(found: client_id, "
                      r"monthly_value, plan\)$", column="signup_date"), id="missing column in CSV"),
    pytest.param(_without_column("tickets", "opened_at"),
                 Stop(r"^tickets\.parquet, column 'opened_at': required column is missing", column="opened_at"),
                 id="missing column in Parquet"),
    pytest.param(_without_column("surveys", "score"),
                 Stop(r"^surveys\.csv, column 'score': required column is missing", column="score"),
                 id="missing column: NPS score"),
    pytest.param(_same_column_twice,
                 Stop(r"^clients\.csv, column 'plan': column appears 2 times in the header", column="plan", count=2),
                 id="same column twice (Plan and plan)"),
    pytest.param(_header_only_clients, Stop(r"^clients\.csv: has no rows$"), id="empty table: clients"),
    pytest.param(_zero_byte_events, Stop(r"^events\.csv: cannot be read as CSV \(Empty CSV file\)$"),
                 id="empty table: zero-byte file"),
    pytest.param(_latin1_clients, Stop(r"^clients\.csv: is not UTF-8 text \(.* at byte \d+\); save it as UTF-8 CSV$"),
                 id="not UTF-8: Latin-1"),
    pytest.param(_cp1252_survey_comment, Stop(r"^surveys\.csv: is not UTF-8 text .*save it as UTF-8 CSV$"),
                 id="not UTF-8: Windows-1252 quotes"),
    pytest.param(_utf16_clients, Stop(r"^clients\.csv: is not UTF-8 text .*save it as UTF-8 CSV$"),
                 id="not UTF-8: UTF-16"),
    pytest.param(_truncated("events.parquet"), Stop(r"^events\.parquet: cannot be read as Parquet \(.+\)$"),
                 id="truncated Parquet: events"),
    pytest.param(_truncated("tickets.parquet"), Stop(r"^tickets\.parquet: cannot be read as Parquet \(.+\)$"),
                 id="truncated Parquet: tickets"),
]


@pytest.mark.parametrize("spoil, stop", MESSAGES)
def test_bad_input_stops_with_a_message_naming_the_file(tmp_path, spoil, stop):
    folder = write_folder(tmp_path / "data", valid_tables())
    spoil(folder)
    with pytest.raises(ContractError, match=stop.match) as caught:
        load(folder, require_churn=stop.require_churn)
    assert (caught.value.column, caught.value.count) == (stop.column, stop.count)
    assert "\n" not in str(caught.value)
    assert not (folder / "quarantine").exists()


# ----------------------------------------------------------------------------------------- accepted by the contract

def test_header_only_optional_tables_are_zero_rows_not_an_error(tmp_path):
    tables = {name: frame.iloc[:0] for name, frame in valid_tables().items() if name != "clients"}
    folder = write_folder(tmp_path / "data", {"clients": valid_tables()["clients"], **tables},
                          {"events": "parquet", "surveys": "csv", "tickets": "csv"})
    result = load(folder)
    for name in ("events", "surveys", "tickets", "churn"):
        assert (result.reports[name].rows_in, len(getattr(result.tables, name))) == (0, 0)
    assert not (folder / "quarantine").exists()


def test_all_empty_optional_columns_are_accepted_and_features_still_build(tmp_path):
    tables = valid_tables()
    none = [None] * 5
    tables["clients"] = tables["clients"].assign(monthly_value="", plan="")
    tables["events"] = tables["events"].assign(channel=none, value=none)
    tables["surveys"] = tables["surveys"].assign(comment="")
    tables["tickets"] = tables["tickets"].assign(first_response_at=None, resolved_at=None, priority=None,
                                                 category=None, satisfaction=None)
    result = load(write_folder(tmp_path / "data", tables))
    assert all(r.rows_used == r.rows_in and not r.rows_quarantined for r in result.reports.values())
    assert result.tables.clients["monthly_value"].isna().all()
    assert result.tables.events["channel"].isna().all() and result.tables.events["value"].isna().all()
    spec = fit_spec(result.tables, FeaturesConfig())
    built = build_features(result.tables, [AS_OF], spec)
    assert sorted(built["client_id"].astype(str)) == ["c1", "c2", "c4"]  # c3 churned on 20 March


def test_mixed_time_zones_are_converted_to_utc(tmp_path):
    tables = valid_tables()
    tables["events"] = pd.DataFrame({
        "client_id": ["c1"] * 4,
        "timestamp": ["2024-03-05T23:30:00-02:00", "2024-03-06T00:30:00+01:00", "2024-03-05 12:00:00",
                      "2024-03-05T12:00:00Z"],
        "event_type": ["minus_two", "plus_one", "no_offset", "zulu"]})
    madrid = tables["tickets"]["opened_at"].dt.tz_convert("Europe/Madrid")  # a Parquet column in local time
    tables["tickets"] = tables["tickets"].assign(opened_at=madrid)
    result = load(write_folder(tmp_path / "data", tables, {"events": "csv"}))
    events = result.tables.events.set_index(result.tables.events["event_type"].astype(str))["timestamp"]
    assert events.astype(str).to_dict() == {"minus_two": "2024-03-06 01:30:00", "plus_one": "2024-03-05 23:30:00",
                                            "no_offset": "2024-03-05 12:00:00", "zulu": "2024-03-05 12:00:00"}
    opened = result.tables.tickets.set_index("ticket_id")["opened_at"].astype(str).to_dict()
    assert opened == {"t1": "2024-03-02 08:00:00", "t2": "2024-03-10 09:00:00", "t3": "2024-03-12 09:00:00"}


def test_rows_dated_after_as_of_are_used_but_not_seen_at_as_of(tmp_path):
    full, cut = valid_tables(), valid_tables()
    for tables in (full, cut):  # known at the as-of: an event on its last second
        add(tables, "events", client_id="c1", timestamp=at("2024-03-31 23:59:59"), event_type="purchase", value=5.0)
    # a ticket opened before the as-of, answered, resolved and rated after it: open and unanswered at the as-of
    add(cut, "tickets", ticket_id="t4", client_id="c2", opened_at=at("2024-03-30 10:00"), priority="urgent")
    add(full, "tickets", ticket_id="t4", client_id="c2", opened_at=at("2024-03-30 10:00"), priority="urgent",
        first_response_at=at("2024-04-01 09:00"), resolved_at=at("2024-04-02 10:00"), satisfaction=1.0)
    # after the as-of
    add(full, "clients", client_id="c5", signup_date="2024-04-02", monthly_value="50", plan="pro")
    add(full, "events", client_id="c1", timestamp=at("2024-04-01 00:00"), event_type="purchase", value=99.0)
    add(full, "events", client_id="c2", timestamp=at("2024-04-03 10:00"), event_type="cancel_page", channel="web")
    add(full, "surveys", client_id="c1", answered_at="2024-04-05T10:00:00Z", score="0", comment="leaving")
    add(full, "tickets", ticket_id="t5", client_id="c4", opened_at=at("2024-04-03 10:00"), priority="high")
    add(full, "churn", client_id="c1", churned_at="2024-04-15")

    loaded = load(write_folder(tmp_path / "full", full))
    known = load(write_folder(tmp_path / "cut", cut))

    assert all(r.rows_used == r.rows_in and not r.rows_quarantined for r in loaded.reports.values())
    assert loaded.reports["events"].rows_used == known.reports["events"].rows_used + 2
    spec = fit_spec(known.tables, FeaturesConfig())
    at_as_of = build_features(loaded.tables, [AS_OF], spec)
    pd.testing.assert_frame_equal(at_as_of, build_features(known.tables, [AS_OF], spec))
    assert sorted(at_as_of["client_id"].astype(str)) == ["c1", "c2", "c4"]
    later = pd.Timestamp("2024-04-06")  # and the later rows do count once their day has come
    assert not build_features(loaded.tables, [later], spec).equals(build_features(known.tables, [later], spec))


# ----------------------------------------------------------------------------------------- the CLI

# `churn <args>`, as `forks` runs it (tests/conftest.py): the real command in a process of its own (its exit
# code, and all it writes on stderr), forked rather than a new interpreter
CHURN = "import sys\nfrom pipeline.cli import main\nsys.argv = ['churn', *sys.argv[1:]]\nmain()\n"


CLI_KINDS = {
    "missing file": (lambda folder: _remove(folder, "clients"), "clients"),
    "missing column": (_without_column("events", "event_type"), "events.parquet"),
    "not UTF-8": (_latin1_clients, "clients.csv"),
    "truncated Parquet": (_truncated("tickets.parquet"), "tickets.parquet"),
}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory, forks) -> dict[str, tuple[Path, int, str]]:
    """`churn features --data <folder>` on each broken folder, the processes (`forks`) run side by side."""
    runs = {}
    for kind, (spoil, _) in CLI_KINDS.items():
        root = tmp_path_factory.mktemp("cli")
        folder = write_folder(root / "data", valid_tables())
        spoil(folder)
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
        runs[kind] = root, (CHURN, ["features", "--data", str(folder)], root, env)
    started = forks.together([run for _, run in runs.values()])
    codes = [process.wait(300) for process in started]
    return {kind: (root, code, process.stderr)
            for (kind, (root, _)), process, code in zip(runs.items(), started, codes)}


@pytest.mark.parametrize("kind", list(CLI_KINDS))
def test_the_cli_exits_2_with_one_line_naming_the_file(cli_runs, kind):
    root, code, stderr = cli_runs[kind]
    file = CLI_KINDS[kind][1]
    assert code == 2, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith("error: ") and file in stderr and "Traceback" not in stderr
    assert not (root / "churn-error.log").exists()
