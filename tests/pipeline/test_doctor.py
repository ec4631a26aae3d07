"""`churn doctor`: which store, champion, data and output folder a nightly score would use, in at most
24 lines; exit 0 when all is well, 2 naming what a nightly score would miss. Real stores, real files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd


def _doctor(churn_here, root: Path, data: Path, out: Path | None, uri: str | None, expect: int):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root)}
    if uri is not None:
        env["MLFLOW_TRACKING_URI"] = uri
    args = ["doctor", "--data", str(data)] + (["--out", str(out)] if out is not None else [])
    return churn_here(args, root, env, expect=expect)


def _copy_of(folder: Path, target: Path, *, without: tuple[str, ...] = ()) -> Path:
    """The generated tables linked into a folder of the test's own, some left out."""
    target.mkdir()
    for path in folder.glob("*.parquet"):
        if path.stem not in without:
            (target / path.name).symlink_to(path)
    return target


def test_a_healthy_setup_says_store_champion_tables_and_last_run_in_at_most_24_lines(
        trained_store, churn_here, tmp_path):
    from pipeline.publish.manifest import RunRecord, write_manifest

    out = tmp_path / "risk"
    out.mkdir()
    record = RunRecord(command="score", data=str(trained_store.data), engine="local", as_of="2025-12-31")
    record.ended(None)
    write_manifest(out, record)

    done = _doctor(churn_here, tmp_path, trained_store.data, out, trained_store.tracking_uri, expect=0)
    lines = done.stdout.strip().splitlines()
    assert 0 < len(lines) <= 24, done.stdout
    text = done.stdout
    assert f"{trained_store.tracking_uri} (from MLFLOW_TRACKING_URI): reachable" in text
    assert "champion v1 (ROC AUC 0." in text and "churn: 1 version(s)" in text
    assert str(trained_store.data.resolve()) in text
    for table in ("clients", "events", "surveys", "tickets", "churn"):
        rows = len(pd.read_parquet(trained_store.data / f"{table}.parquet"))
        assert f"{table}.parquet: {rows:,} rows; required columns present" in text, table
    assert f"{out}: last run ok (exit 0) as of 2025-12-31" in text
    assert "[ok  ] lock      free" in text
    assert lines[-1].startswith("[ok  ] verdict") and done.stderr.strip() == ""


def test_a_missing_table_exits_2_naming_it(trained_store, churn_here, tmp_path):
    no_clients = _copy_of(trained_store.data, tmp_path / "no_clients", without=("clients",))
    done = _doctor(churn_here, tmp_path, no_clients, None, trained_store.tracking_uri, expect=2)
    assert "[FAIL] clients   not found: required" in done.stdout
    assert done.stderr.strip().splitlines() == ["error: doctor: clients table not found: required"]

    # an optional table the champion's features read is needed tonight: scoring would stop (exit 3)
    no_events = _copy_of(trained_store.data, tmp_path / "no_events", without=("events",))
    done = _doctor(churn_here, tmp_path, no_events, None, trained_store.tracking_uri, expect=2)
    assert "events table not found: the champion's features read it" in done.stderr

    # a table without a required column, written as a Spanish spreadsheet saves it (';'), is named with it
    bad = _copy_of(trained_store.data, tmp_path / "bad_column", without=("surveys",))
    (bad / "surveys.csv").write_text("client_id;answered_at;nota\nC1;2025-01-01;9\nC2;2025-01-02;3\n",
                                     encoding="utf-8")
    done = _doctor(churn_here, tmp_path, bad, None, trained_store.tracking_uri, expect=2)
    assert "[FAIL] surveys   surveys.csv: 2 rows; missing score" in done.stdout
    assert "surveys.csv: required column(s) missing: score" in done.stderr


def test_an_empty_store_exits_2_naming_the_store(generated_data, churn_here, new_store, tmp_path):
    uri = new_store(tmp_path / "empty.db")
    done = _doctor(churn_here, tmp_path, generated_data, None, uri, expect=2)
    assert f"error: doctor: no registered model 'churn' in {uri}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_no_store_file_is_reported_not_created(generated_data, churn_here, tmp_path):
    # HOME is tmp_path and XDG_DATA_HOME unset: the default store is under tmp_path/.local/share
    done = _doctor(churn_here, tmp_path, generated_data, None, None, expect=2)
    assert "(the default: MLFLOW_TRACKING_URI and registry.tracking_uri are not set)" in done.stdout
    default = tmp_path / ".local" / "share" / "churn-pipeline" / "mlflow.db"
    assert f"no store file at {default}" in done.stderr
    assert not default.exists() and not (tmp_path / "mlflow.db").exists()


def test_a_missing_champion_alias_exits_2(trained_store, churn_here, tmp_path):
    from mlflow import MlflowClient

    db = tmp_path / "no_champion.db"
    shutil.copyfile(trained_store.tracking_uri[len("sqlite:///"):], db)
    uri = f"sqlite:///{db}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).delete_registered_model_alias("churn", "champion")
    done = _doctor(churn_here, tmp_path, trained_store.data, None, uri, expect=2)
    assert "[FAIL] model     churn: 1 version(s); no alias" in done.stdout
    assert f"model 'churn' in {uri} has no 'champion' alias" in done.stderr


def test_a_held_lock_and_a_stopped_run_are_said_without_failing(trained_store, churn_here, tmp_path):
    from features.errors import GateStop
    from pipeline.publish.lock import exclusive
    from pipeline.publish.manifest import RunRecord, write_manifest

    out = tmp_path / "risk"
    out.mkdir()
    record = RunRecord(command="score", data="d", engine="local", as_of="2025-12-30")
    record.ended(GateStop("drift: the score distribution moved (PSI 0.31)"))
    write_manifest(out, record)
    with exclusive(out):
        done = _doctor(churn_here, tmp_path, trained_store.data, out, trained_store.tracking_uri, expect=0)
    assert f"[warn] out       {out}: last run stopped (exit 3) as of 2025-12-30" in done.stdout
    assert "drift: the score distribution moved" in done.stdout
    assert f"[warn] lock      held by pid {os.getpid()}" in done.stdout


def test_the_report_keeps_to_24_lines_and_names_the_first_problem():
    from pipeline.jobs.doctor import FAIL, OK, Check, report

    checks = [Check(OK, "t", f"line {i}") for i in range(30)] + [Check(FAIL, "x", "bad", "x is missing"),
                                                                  Check(FAIL, "y", "bad", "y is missing")]
    result = report(checks)
    assert len(result["lines"]) == 24
    assert result["lines"][-1].startswith("[FAIL] verdict   2 problem(s)")
    assert result["lines"][-2] == "... 10 more line(s)"
    assert result["problem"] == "doctor: x is missing (and 1 more)"


def test_csv_rows_are_counted_as_the_reader_splits_them(tmp_path):
    from pipeline.jobs.doctor import table_facts

    # a quoted line break is one row, not two; the ';' layout and a BOM are read as the pipeline reads them
    (tmp_path / "events.csv").write_text('\ufeffClient_ID;Timestamp;event_type;value\n'
                                         'C1;2025-01-01;login;"10,5"\nC2;2025-01-02;"page\nview";1\n',
                                         encoding="utf-8")
    facts = table_facts(tmp_path, "events", "local")
    assert (facts.file, facts.rows, facts.error) == ("events.csv", 2, None)
    assert facts.columns == ("client_id", "timestamp", "event_type", "value")
