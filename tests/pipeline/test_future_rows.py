"""Rows dated after the run's own day (plus data.future_tolerance_days) are set aside: in quarantine
with their reason, counted (rows in = rows used + rows set aside), and never choosing the as-of.

Tiny hand-made folders, read as the local engine reads them; the run's day is fixed by the test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from features.cutoffs import latest_date
from pipeline.config import load_config
from pipeline.engines.base import FUTURE_REASON, dated_after, last_allowed_day
from pipeline.engines.local import load_checked

RUN_DAY = dt.date(2024, 4, 1)


def _folder(root: Path, events: pd.DataFrame, tickets: pd.DataFrame | None = None) -> Path:
    data = root / "data"
    data.mkdir()
    pd.DataFrame({"client_id": ["c1", "c2"], "signup_date": ["2024-01-01", "2024-02-01"]}).to_csv(
        data / "clients.csv", index=False)
    events.to_csv(data / "events.csv", index=False)
    if tickets is not None:
        tickets.to_parquet(data / "tickets.parquet", index=False)
    return data


def _events(*stamps: str) -> pd.DataFrame:
    return pd.DataFrame({"client_id": ["c1", "c2", "c1", "c2"][:len(stamps)], "timestamp": list(stamps),
                         "event_type": [f"e{k}" for k in range(len(stamps))]})


def test_the_last_allowed_day_is_the_run_day_plus_the_tolerance():
    assert last_allowed_day(RUN_DAY, 1) == pd.Timestamp("2024-04-02")
    assert last_allowed_day(RUN_DAY, 0) == pd.Timestamp("2024-04-01")
    today = dt.datetime.now(dt.UTC).date()
    assert last_allowed_day(None, 0) == pd.Timestamp(today)  # the default: today, UTC


def test_the_tolerance_day_is_kept_whole_and_what_follows_is_set_aside():
    frame = _events("2024-03-31T23:00:00Z", "2024-04-02T23:59:59Z", "2024-04-03T00:00:00Z", "2100-01-01")
    late = dated_after(frame, "events", last_allowed_day(RUN_DAY, 1))
    assert frame["event_type"][~late].tolist() == ["e0", "e1"]
    assert frame["event_type"][late].tolist() == ["e2", "e3"]
    late = dated_after(frame, "events", last_allowed_day(RUN_DAY, 0))
    assert frame["event_type"][~late].tolist() == ["e0"] and int(late.sum()) == 3


def test_an_offset_is_read_in_utc_and_an_unparseable_time_is_left_to_the_contract_checks():
    # 2024-04-02 23:30 at -02:00 is 2024-04-03 01:30 UTC: after the tolerance day
    frame = _events("2024-04-02T23:30:00-02:00", "not a time", "")
    assert dated_after(frame, "events", pd.Timestamp("2024-04-02")).tolist() == [True, False, False]


def test_a_ticket_resolved_after_the_run_day_is_dated_after_it():
    tickets = pd.DataFrame({"ticket_id": ["t1", "t2"], "client_id": ["c1", "c2"],
                            "opened_at": pd.to_datetime(["2024-03-01", "2024-03-02"], utc=True),
                            "resolved_at": pd.to_datetime(["2024-03-03", "2099-01-01"], utc=True)})
    assert dated_after(tickets, "tickets", pd.Timestamp("2024-04-02")).tolist() == [False, True]


def test_rows_after_the_run_day_go_to_quarantine_counted_and_never_choose_the_as_of(tmp_path):
    data = _folder(tmp_path, _events("2024-03-30T10:00:00Z", "2100-01-01T00:00:00Z", "2024-03-31T09:00:00Z"))
    loaded = load_checked(data, tmp_path / "out", load_config(None, {"data": {"max_rejected_share": 0.5}}),
                          require_churn=False, run_day=RUN_DAY)
    report = loaded.reports["events"]
    assert (report.rows_in, report.rows_used, report.rows_quarantined) == (3, 2, 1)
    assert report.reasons == {FUTURE_REASON: 1}
    quarantine = pd.read_csv(tmp_path / "out" / "quarantine" / "events.csv")
    assert quarantine["timestamp"].tolist() == ["2100-01-01T00:00:00Z"]
    assert quarantine["reason"].tolist() == [FUTURE_REASON]
    assert latest_date(loaded.tables) == pd.Timestamp("2024-03-31")


def test_another_break_keeps_its_own_reason(tmp_path):
    # an unknown client dated in 2100: the contract's reason comes first, the row is counted once
    events = pd.DataFrame({"client_id": ["c1", "c9"], "timestamp": ["2024-03-30", "2100-01-01"],
                           "event_type": ["login", "login"]})
    loaded = load_checked(_folder(tmp_path, events), tmp_path / "out",
                          load_config(None, {"data": {"max_rejected_share": 0.5}}), require_churn=False,
                          run_day=RUN_DAY)
    assert loaded.reports["events"].reasons == {"unknown client_id (not in clients)": 1}


def test_too_many_rows_after_the_run_day_stop_the_run_as_any_rejected_share(tmp_path):
    from features.errors import ContractError

    data = _folder(tmp_path, _events("2024-03-30", "2100-01-01", "2100-01-02"))
    with pytest.raises(ContractError, match=r"events\.csv: 2 of 3 rows .*dated after the run's day \(2\)"):
        load_checked(data, tmp_path / "out", load_config(None), require_churn=False, run_day=RUN_DAY)
