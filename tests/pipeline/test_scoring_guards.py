"""Scoring never publishes a wrong or empty list (issue 16):

- a run scoring no client, or fewer than scoring.min_scored_share of the clients the published run
  scored, stops with exit 3 before publication and the published list stays byte for byte;
- a row dated after the run's own day (plus data.future_tolerance_days) is set aside and never
  chooses the as-of;
- monitoring grades an earlier list only when the data covers its horizon.

The shared data and model (tests/conftest.py), read-only; outputs go to this module's folder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from features.errors import GateStop
from pipeline.config import load_config
from pipeline.jobs.score import score
from pipeline.synth.altered import altered_copy, with_extra_row

pytestmark = pytest.mark.slow
LIST_FILES = ("risk_list.parquet", "risk_list.csv", "risk_list.xlsx", "risk_report.html")
RUN_DAY = dt.date(2026, 1, 5)  # the generated data ends 2025-12-31


@pytest.fixture(scope="module")
def trained(trained_store, folder_with_data):
    return folder_with_data("guards"), trained_store.tracking_uri, trained_store.model_uri


def _snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in LIST_FILES}


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _env(uri: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "MLFLOW_TRACKING_URI": uri}


def test_an_as_of_before_any_client_stops_with_exit_3_and_keeps_the_published_list(trained, churn_here):
    root, uri, model = trained
    out = root / "before_data"
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=25,
          run_day=RUN_DAY)
    published = _manifest(out)["clients_scored"]
    before = _snapshot(out)
    done = churn_here(["score", "--data", root / "data", "--out", out, "--model", model, "--as-of", "2015-01-01"],
                      root, _env(uri), expect=3)
    last = done.stderr.strip().splitlines()[-1]
    assert last == (f"error: stopped by the coverage gate: 0 clients scored as of 2015-01-01, fewer than "
                    f"scoring.min_scored_share 0.5 of the {published:,} the published list of 2025-12-31 scored; "
                    f"it stays published (see manifest.json)")
    assert "Traceback" not in done.stderr
    assert _snapshot(out) == before
    manifest = _manifest(out)
    assert (manifest["status"], manifest["exit_code"]) == ("stopped", 3)
    assert (manifest["clients_scored"], manifest["published_clients_scored"]) == (0, published)
    assert "coverage gate" in manifest["error"]


def test_a_run_scoring_fewer_than_the_share_stops_and_the_setting_lets_it_through(trained, active_at):
    root, uri, model = trained
    out = root / "fewer"
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=25,
          run_day=RUN_DAY)
    published = _manifest(out)["clients_scored"]
    clients = pd.read_parquet(root / "data" / "clients.parquet")
    early = str(pd.to_datetime(clients["signup_date"]).sort_values().iloc[len(clients) // 8].date())
    fewer = len(active_at(root / "data", early))
    assert 0 < fewer < 0.5 * published  # what the case needs of the data
    before = _snapshot(out)
    with pytest.raises(GateStop, match=rf"{fewer:,} clients scored as of {early}, fewer than "
                                       rf"scoring.min_scored_share 0.5 of the {published:,}"):
        score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=25,
              as_of_date=dt.date.fromisoformat(early), run_day=RUN_DAY)
    assert _snapshot(out) == before and _manifest(out)["status"] == "stopped"
    # the share set to 0 lets it through (the drift gate, which an early portfolio trips, reports only)
    relaxed = load_config(None, {"scoring": {"min_scored_share": 0.0}, "drift": {"stop_on": "never"}})
    result = score(root / "data", out=out, config=relaxed, tracking_uri=uri, model_uri=model, capacity=25,
                   as_of_date=dt.date.fromisoformat(early), run_day=RUN_DAY)
    assert result["clients_scored"] == fewer and _snapshot(out) != before


def test_a_first_run_scoring_no_client_stops_and_publishes_nothing(trained):
    root, uri, model = trained
    out = root / "first_empty"
    with pytest.raises(GateStop, match=r"^stopped by the coverage gate: 0 clients scored as of 2015-01-01 "
                                       r"\(no client active that day"):
        score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model,
              as_of_date=dt.date(2015, 1, 1), run_day=RUN_DAY)
    assert not (out / "current").exists() and not any((out / name).exists() for name in LIST_FILES)
    manifest = _manifest(out)
    assert (manifest["status"], manifest["exit_code"], manifest["clients_scored"]) == ("stopped", 3, 0)
    assert "published_clients_scored" not in manifest


def _with_an_event_in_2100(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    return with_extra_row(frame, timestamp=pd.Timestamp("2100-01-01 12:00", tz="UTC")) if name == "events" else frame


def test_an_event_dated_2100_is_set_aside_and_the_real_grading_happens(trained, churn_here):
    root, uri, model = trained
    out = root / "year_2100"
    data = altered_copy(root / "data", root / "data_2100", _with_an_event_in_2100)
    score(data, out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=100,
          as_of_date=dt.date(2025, 11, 15), run_day=RUN_DAY)
    # the real command, on today's day: the 2100 row is set aside, the as-of is the data's last day
    churn_here(["score", "--data", data, "--out", out, "--model", model, "--capacity", "100"], root, _env(uri))
    manifest = _manifest(out)
    assert manifest["as_of"] == "2025-12-31"
    events = manifest["inputs"]["events"]
    assert events["rows_in"] == events["rows_used"] + events["rows_quarantined"]
    assert (events["rows_quarantined"], events["reasons"]) == (1, {"dated after the run's day": 1})
    aside = pd.read_csv(out / "quarantine" / "events.csv")
    assert len(aside) == 1 and aside["timestamp"].str.startswith("2100-01-01").all()
    assert aside["reason"].tolist() == ["dated after the run's day"]
    monitoring = pd.read_csv(out / "monitoring.csv", dtype=str)
    assert monitoring[["list_as_of", "evaluated_at"]].values.tolist() == [["2025-11-15", "2025-12-31"]]
    assert int(monitoring["churners"].iloc[0]) > 0


def test_a_list_is_graded_only_when_the_data_covers_its_horizon(trained, caplog):
    import logging

    root, uri, model = trained
    out = root / "not_matured"
    config = load_config(None, {"drift": {"stop_on": "never"}})
    score(root / "data", out=out, config=config, tracking_uri=uri, model_uri=model, capacity=100,
          as_of_date=dt.date(2025, 12, 10), run_day=RUN_DAY)
    # an as-of far past the data's last day (2025-12-31): the 2025-12-10 list's window ends 2026-01-09,
    # which the data does not reach, so it is not graded (on no churn) however late the as-of
    with caplog.at_level(logging.INFO, logger="pipeline.publish.gates"):
        result = score(root / "data", out=out, config=config, tracking_uri=uri, model_uri=model, capacity=100,
                       as_of_date=dt.date(2026, 3, 1), run_day=dt.date(2026, 3, 1))
    assert result["monitoring"] == [] and not (out / "monitoring.csv").exists()
    assert ("monitoring: the 2025-12-10 list is not yet matured: its 30-day window ends 2026-01-09, the data ends "
            "2025-12-31; not graded") in caplog.messages


def test_the_coverage_gate_on_hand_made_counts(tmp_path):
    from pipeline.publish.gates import coverage_gate

    config = load_config(None)
    assert coverage_gate(tmp_path, 5, "2025-12-31", config).stop == []  # nothing published: any count passes
    assert coverage_gate(tmp_path, 0, "2025-12-31", config).stop  # ... but none
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"clients_scored": 1000, "as_of": "2025-11-30"}))
    (tmp_path / "current").symlink_to(Path("runs") / "r1")
    assert coverage_gate(tmp_path, 500, "2025-12-31", config).stop == []  # exactly the share passes
    assert coverage_gate(tmp_path, 499, "2025-12-31", config).stop == [
        "stopped by the coverage gate: 499 clients scored as of 2025-12-31, fewer than scoring.min_scored_share 0.5 "
        "of the 1,000 the published list of 2025-11-30 scored; it stays published (see manifest.json)"]
    assert coverage_gate(tmp_path, 499, "2025-12-31", config).report == 1000
    none = load_config(None, {"scoring": {"min_scored_share": 0}})
    assert coverage_gate(tmp_path, 1, "2025-12-31", none).stop == []
    assert coverage_gate(tmp_path, 0, "2025-12-31", none).stop
