"""The ceiling benchmark: its raw history reads only what each cutoff knew, its truth lines up with the
rows, and its smoke mode runs end to end leaving RESULTS.md alone (figures: `bench_ceiling.py`)."""

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_ceiling import raw_history, truth_log_odds  # noqa: E402
from test_bench_quality import SCRIPT  # noqa: E402


def _write(folder: Path) -> None:
    utc = lambda *s: pd.to_datetime(list(s), utc=True, format="ISO8601")  # noqa: E731
    pd.DataFrame({"client_id": ["a", "a", "a", "a", "b"],
                  "timestamp": utc("2024-03-31T23:00", "2024-03-02T10:00", "2024-02-20T10:00", "2024-04-01T00:00",
                                   "2023-01-01T00:00"),
                  "event_type": ["login", "login", "error", "login", "login"]}).to_parquet(folder / "events.parquet")
    pd.DataFrame({"client_id": ["a", "a", "a"], "answered_at": utc("2024-01-10", "2024-03-30", "2024-04-05"),
                  "score": [3, 9, 0]}).to_parquet(folder / "surveys.parquet")
    pd.DataFrame({"client_id": ["b", "b"], "opened_at": utc("2024-03-31T12:00", "2024-04-02")}).to_parquet(
        folder / "tickets.parquet")
    as_of = pd.to_datetime(["2024-03-31", "2024-03-31", "2024-04-30"]).date
    pd.DataFrame({"client_id": ["a", "b", "a"], "as_of": as_of, "p_true": [0.5, 0.2, 0.1]}).to_parquet(
        folder / "truth.parquet")


def test_raw_history_counts_only_what_each_cutoff_knew(tmp_path):
    _write(tmp_path)
    rows = pd.DataFrame({"client_id": ["a", "b", "a"],
                         "cutoff": pd.to_datetime(["2024-03-31", "2024-03-31", "2024-04-30"])}, index=[10, 11, 12])
    raw = raw_history(rows, tmp_path)
    assert list(raw.index) == [10, 11, 12]
    # as of 31 Mar: logins at 23:00 on the day (step 0) and on 2 Mar (29 days back: step 0); the error of
    # 20 Feb is 40 days back (step 1); the login of 1 Apr is after the cutoff
    assert raw.loc[10, "raw_events_login_step0"] == 2 and raw.loc[10, "raw_events_error_step1"] == 1
    # as of 30 Apr the 1 Apr login is known (step 0), the two March ones are 30 and 59 days back (step 1)
    assert raw.loc[12, "raw_events_login_step0"] == 1 and raw.loc[12, "raw_events_login_step1"] == 2
    # b's 2023 login is more than a year back: the last step holds everything older
    assert raw.loc[11, "raw_events_login_step12"] == 1 and raw.loc[11, "raw_tickets_step0"] == 1
    # answers newest first: as of 31 Mar the 5 Apr one is unknown
    assert raw.loc[10, ["raw_nps_score_0", "raw_nps_score_1"]].tolist() == [9, 3]
    assert raw.loc[12, ["raw_nps_score_0", "raw_nps_age_0"]].tolist() == [0, 25]
    assert np.isnan(raw.loc[11, "raw_nps_score_0"]) and raw.loc[12, "raw_tickets_step0"] == 0


def test_truth_log_odds_follow_the_rows_and_refuse_rows_without_truth(tmp_path):
    _write(tmp_path)
    rows = pd.DataFrame({"client_id": ["a", "a", "b"], "cutoff": pd.to_datetime(["2024-04-30", "2024-03-31",
                                                                                   "2024-03-31"])})
    assert truth_log_odds(rows, tmp_path) == pytest.approx([np.log(0.1 / 0.9), 0.0, np.log(0.25)])
    with pytest.raises(SystemExit, match="1 rows have no generator probability"):
        truth_log_odds(pd.DataFrame({"client_id": ["b"], "cutoff": pd.to_datetime(["2024-04-30"])}), tmp_path)


def test_bench_ceiling_smoke_mode_grades_the_model_and_both_learners(tmp_path, forks):
    before = (ROOT / "benchmarks" / "RESULTS.md").read_bytes()
    done = forks.run(SCRIPT, [ROOT / "benchmarks" / "bench_ceiling.py", "--smoke", "--no-write", "--work", tmp_path],
                     tmp_path, {**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = [line for line in done.stdout.splitlines() if line.startswith("| 1 (")]
    assert len(figures) == 1  # one seed in the smoke mode, so no mean row
    cells = [float(c.strip().strip("*")) for c in figures[0].strip("|").split("|")[1:]]
    model, told, told_raw, oracle, *shares = cells
    assert all(0.5 < auc <= 1.0 for auc in (model, told, told_raw, oracle))
    assert shares == pytest.approx([model / oracle, told / oracle, told_raw / oracle], abs=1e-4)
    assert "Commit: " in done.stdout and (ROOT / "benchmarks" / "RESULTS.md").read_bytes() == before
