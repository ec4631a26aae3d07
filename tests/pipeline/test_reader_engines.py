"""The three readers agree on hostile input: one pass (local), hash partitions and Dask set aside the
same rows for the same reasons (text limits, control characters, decimal marks, Parquet folders)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import distributed
import pandas as pd
import pytest

from pipeline.data import partitions
from pipeline.data.contract import load_folder, read_folder, validate
from pipeline.data.totals import InputTotals
from pipeline.data.values import Limits
from pipeline.engines import dask_tables
from pipeline.engines.base import FUTURE_REASON, future_reasons, last_allowed_day
from pipeline.engines.partitioned import checked_partition

LIMITS = Limits(text=40, free_text=60, columns=50)


def hostile_folder(root: Path) -> Path:
    folder = root / "data"
    folder.mkdir()
    (folder / "clients.csv").write_text(
        "client_id ; signup_date;monthly_value;Plan\n"
        + "".join(f"c{i};2024-01-01;{v};basic\n" for i, v in enumerate(["2.000", "1.234,5", "2,5", "n/a", "2.5"]))
        + f"{'x' * 41};2024-01-01;1;basic\nc9;2024-01-01;1;ba\x00sic\n", encoding="utf-8")
    (folder / "events").mkdir()
    for part, ids in enumerate((["c0", "c1", "ghost"], ["c2", "x" * 41, "c3"])):
        pd.DataFrame({"client_id": ids, "timestamp": pd.to_datetime(["2024-02-01"] * 3, utc=True),
                      "event_type": ["login", "buy", "login"]}).to_parquet(folder / "events" / f"part-{part}.parquet",
                                                                           index=False)
    (folder / "surveys.csv").write_text("client_id,answered_at,score,comment\nc0,2024-02-01,9," + "y" * 61
                                        + "\nc1,2024-02-01,8,fine\n", encoding="utf-8")
    return folder


def _counts(reports) -> dict:
    return {name: (r.file, r.rows_in, r.rows_used, dict(sorted(r.reasons.items()))) for name, r in reports.items()}


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        yield client


def test_local_partitioned_and_dask_readers_set_aside_the_same_rows(tmp_path, client):
    folder = hostile_folder(tmp_path)
    local = load_folder(folder, quarantine_dir=None, max_rejected_share=1.0, require_churn=False, limits=LIMITS)
    expected = _counts(local.reports)
    assert expected["clients"][1:] == (7, 3, {
        "client_id is longer than 40 characters (data.max_text_length)": 1,
        "monthly_value is not a clear number for a decimal-comma file (write 1.234,5 or 1234,5)": 1,
        "monthly_value is not a number": 1, "plan holds a control character (NUL or the like)": 1})
    assert expected["events"][0] == "events/" and expected["surveys"][3] == {
        "comment is longer than 60 characters (data.max_comment_length)": 1}

    split = partitions.split(folder, tmp_path / "split", 3, require_churn=False)
    totals = InputTotals()
    for p in range(3):
        totals.account(checked_partition(split, p, LIMITS))
    assert _counts(totals.reports) == expected

    sources = dask_tables.open_tables(str(folder), require_churn=False)
    parts = dask_tables.partition(client, sources, 3, LIMITS)
    remote = InputTotals()
    for loaded in parts.reports:
        remote.account(loaded)
    assert _counts(remote.reports) == expected
    assert remote.fingerprint() == local.fingerprint


def test_every_engine_sets_aside_rows_dated_after_the_run_day(tmp_path, client):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "clients.csv").write_text("client_id,signup_date\nc0,2024-01-01\nc1,2024-01-01\n", encoding="utf-8")
    (folder / "events.csv").write_text("client_id,timestamp,event_type\nc0,2024-02-01,login\nc1,2100-01-01,login\n"
                                       "c1,2024-02-02,login\n", encoding="utf-8")
    last_day = last_allowed_day(date(2024, 3, 31), 1)
    sources = read_folder(folder, require_churn=False)
    local = validate(sources, quarantine_dir=None, max_rejected_share=1.0,
                     extra_reasons=future_reasons(sources, last_day))
    expected = _counts(local.reports)
    assert expected["events"][1:] == (3, 2, {FUTURE_REASON: 1})

    split = partitions.split(folder, tmp_path / "split", 2, require_churn=False)
    totals = InputTotals()
    for p in range(2):
        totals.account(checked_partition(split, p, None, last_day))
    assert _counts(totals.reports) == expected

    parts = dask_tables.partition(client, dask_tables.open_tables(str(folder), require_churn=False), 2, None, last_day)
    remote = InputTotals()
    for loaded in parts.reports:
        remote.account(loaded)
    assert _counts(remote.reports) == expected
