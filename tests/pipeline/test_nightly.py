"""A nightly scoring run is a good citizen: one run per output folder, and a manifest of every run."""

import hashlib
import json
import os
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.jobs.score import score
from pipeline.publish.lock import exclusive

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(trained_store, folder_with_data):
    """The shared data and model (tests/conftest.py), read-only; outputs go to this module's folder."""
    return folder_with_data("nightly"), trained_store.tracking_uri, trained_store.model_uri


# ------------------------------------------------------------------ runs in processes of their own

# The runs killed here, and the one meeting another's lock, are processes of their own, forked from a
# process that has imported what `churn score` imports (`forks`, tests/conftest.py) instead of a new
# interpreter importing pandas, LightGBM and MLflow again for every run: each runs `code` as
# `python -c code argv...` would.
CHURN_SCORE = "import sys\nfrom pipeline.cli import main\nsys.argv = ['churn', 'score', *sys.argv[1:]]\nmain()\n"


def _rows(path: Path) -> int:
    import pandas as pd

    return 0 if not path.exists() else len(pd.read_csv(path)) if path.suffix == ".csv" else len(pd.read_parquet(path))


def _copy(published: Path, target: Path) -> Path:
    """A folder a run published into, copied as another run would find it (links kept as links)."""
    import shutil

    shutil.copytree(published, target, symlinks=True)
    return target


@pytest.fixture(scope="module")
def scored_once(trained) -> Path:
    """Read-only: a folder holding one run (the latest day, capacity 40), scored in this process. The
    tests that need a folder with a published list to start from copy it instead of scoring again."""
    root, uri, model = trained
    out = root / "ok"
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=40)
    return out


def test_manifest_of_a_finished_run(trained, scored_once, active_at):
    root, uri, model = trained
    out = scored_once
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["exit_code"] == 0
    assert manifest["model_version"] == model.rsplit("/", 1)[-1]
    # generated data meets the contract: every row of every file is read and used, none set aside
    assert set(manifest["inputs"]) == {"clients", "events", "surveys", "tickets", "churn"}
    for name, table in manifest["inputs"].items():
        rows = _rows(root / "data" / f"{name}.parquet")
        assert (table["rows_in"], table["rows_used"], table["rows_quarantined"]) == (rows, rows, 0), name
    assert not (out / "quarantine").exists() or not any((out / "quarantine").iterdir())
    assert manifest["clients_listed"] == 40
    assert manifest["clients_scored"] == len(active_at(root / "data", manifest["as_of"]))
    for name, digest in manifest["outputs"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert {"read", "features", "predict", "list", "write"} <= set(manifest["timings_s"])


def test_manifest_of_a_failed_run_and_the_previous_list_stays(trained, scored_once):
    root, uri, model = trained
    out = _copy(scored_once, root / "failing")  # a list published here
    before = (out / "risk_list.parquet").read_bytes()
    from features.errors import ContractError

    with pytest.raises(ContractError, match="cannot load model"):
        score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri="models:/churn/99")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["exit_code"] == 2
    assert "cannot load model" in manifest["error"]
    assert (out / "risk_list.parquet").read_bytes() == before


def test_a_second_run_on_the_same_folder_fails_at_once(trained, forks):
    root, uri, model = trained
    out = root / "locked"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}
    with exclusive(out):  # a first run (this process) is still writing here
        done = forks.run(CHURN_SCORE, ["--data", str(root / "data"), "--out", str(out), "--model", model], root, env)
    assert done.returncode == 2
    assert "another churn run" in done.stderr and str(out) in done.stderr
    assert not (out / "risk_list.parquet").exists()
    # once the first run is done, the folder is free again
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=5)
    assert (out / "risk_list.parquet").exists()


# ------------------------------------------------------------------ partitions: same bytes as one pass

LIST_FILES = ("risk_list.parquet", "risk_list.csv", "risk_list.xlsx", "risk_report.html")


def _with_bad_rows(source: Path, target: Path) -> None:
    """A copy of the generated folder with rows a contract check must set aside."""
    import pandas as pd

    target.mkdir(parents=True)
    for path in source.glob("*.parquet"):
        frame = pd.read_parquet(path)
        if path.stem == "events":
            # unknown clients, one of them holding the latest date of all (so it must not set the as-of)
            late = frame.head(1).assign(client_id="nobody", timestamp=pd.Timestamp("2026-01-05", tz="UTC"))
            frame = pd.concat([frame, frame.head(3).assign(client_id="nobody"), late], ignore_index=True)
        elif path.stem == "tickets":  # a ticket id reused by another client: most likely another partition
            others = frame.iloc[[5, 6, 7]].assign(ticket_id=frame["ticket_id"].iloc[0])
            frame = pd.concat([frame, others], ignore_index=True)
        elif path.stem == "surveys":
            frame.loc[frame.index[:2], "score"] = 11
            # a known client's answer set aside (score 11) holding the latest date of all
            frame.loc[frame.index[1], "answered_at"] = pd.Timestamp("2026-01-07", tz="UTC")
        elif path.stem == "clients":
            frame.loc[frame.index[3], "monthly_value"] = -5.0
        frame.to_parquet(target / path.name, index=False)


def _set_aside_by_bad_rows(folder: Path) -> dict[str, int]:
    """Rows per table the checks must set aside in a folder written by _with_bad_rows: the 4 rows of
    the unknown client, 3 reused ticket ids, 2 NPS of 11, 1 negative monthly value, and every row of
    the client whose clients row is set aside (its rows then belong to no known client)."""
    import pandas as pd

    spoiled = pd.read_parquet(folder / "clients.parquet")["client_id"].iloc[3]

    def own(name: str) -> int:
        return int((pd.read_parquet(folder / f"{name}.parquet")["client_id"] == spoiled).sum())

    return {"clients": 1, "events": 4 + own("events"), "surveys": 2 + own("surveys"), "tickets": 3 + own("tickets"),
            "churn": own("churn")}


def test_partitioned_run_gives_the_same_bytes_as_one_pass(trained, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="pipeline")
    root, uri, model = trained
    data = root / "bad"
    _with_bad_rows(root / "data", data)
    config = load_config(None)
    one = score(data, out=root / "one", config=config, tracking_uri=uri, model_uri=model)
    many = score(data, out=root / "many", config=config, tracking_uri=uri, model_uri=model, partition_clients=300)
    assert one["partitions"] == 1 and many["partitions"] == 5
    assert one["as_of"] == many["as_of"] == "2025-12-31"
    # the split ignores the late row of an unknown client, but not the late answer set aside for its
    # score: the checked rows end earlier, and the partitions are scored again at their true date
    assert "dated 2025-12-31, not 2026-01-07: scoring again as of 2025-12-31" in caplog.text
    for name in LIST_FILES:
        assert (root / "one" / name).read_bytes() == (root / "many" / name).read_bytes(), name
    assert sorted(p.name for p in (root / "one" / "quarantine").iterdir()) == \
        ["clients.csv", "events.csv", "surveys.csv", "tickets.csv"]
    for path in (root / "one" / "quarantine").iterdir():
        assert path.read_bytes() == (root / "many" / "quarantine" / path.name).read_bytes(), path.name
    assert one["inputs"] == many["inputs"]
    assert many["inputs"]["tickets"]["reasons"]["duplicate ticket_id (first row kept)"] == 3
    # the rows _with_bad_rows spoiled, and only those, are set aside; the quarantine files hold them
    set_aside = _set_aside_by_bad_rows(data)
    for name, table in many["inputs"].items():
        rows = _rows(data / f"{name}.parquet")
        assert table["rows_in"] == rows, name
        assert table["rows_quarantined"] == set_aside[name] == _rows(root / "many" / "quarantine" / f"{name}.csv"), name
        assert table["rows_used"] == rows - set_aside[name], name
    manifest = json.loads((root / "many" / "manifest.json").read_text())
    assert manifest["partitions"] == 5 and {"split", "read", "features", "predict", "explain"} <= set(
        manifest["timings_s"])


def _first_clients(source: Path, target: Path, n: int) -> Path:
    """A copy of the generated folder holding only its first `n` clients and their rows."""
    import pandas as pd

    target.mkdir()
    kept = pd.read_parquet(source / "clients.parquet")["client_id"].head(n)
    for path in source.glob("*.parquet"):
        if path.stem != "truth":
            frame = pd.read_parquet(path)
            frame[frame["client_id"].isin(kept)].to_parquet(target / path.name, index=False)
    return target


def test_partitioned_run_on_spreadsheet_csv_gives_the_same_bytes(trained, active_at):
    """Third-party data arrives as CSV (here with ';' and decimal commas): streamed in batches. A third
    of the clients will do (writing the CSV files takes pandas ~6 s for all): what is compared is the
    bytes of one pass and of four partitions, on the same files."""
    import pandas as pd

    root, uri, model = trained
    source = _first_clients(root / "data", root / "csv_clients", 500)
    _with_bad_rows(source, root / "csv_source")
    data = root / "csv"
    data.mkdir()
    for path in (root / "csv_source").glob("*.parquet"):
        pd.read_parquet(path).to_csv(data / f"{path.stem}.csv", sep=";", decimal=",", index=False)
    config = load_config(None)
    one = score(data, out=root / "csv_one", config=config, tracking_uri=uri, model_uri=model, capacity=200)
    many = score(data, out=root / "csv_many", config=config, tracking_uri=uri, model_uri=model, capacity=200,
                 partition_clients=130)
    assert many["partitions"] == 4
    # every active client but the one whose clients row _with_bad_rows spoiled (set aside)
    spoiled = str(pd.read_parquet(source / "clients.parquet")["client_id"].iloc[3])
    expected = active_at(source, one["as_of"]) - {spoiled}
    assert one["clients_scored"] == many["clients_scored"] == len(expected)
    for name in LIST_FILES:
        assert (root / "csv_one" / name).read_bytes() == (root / "csv_many" / name).read_bytes(), name
    assert one["inputs"] == many["inputs"]
    assert {name: t["rows_quarantined"] for name, t in many["inputs"].items()} == \
        _set_aside_by_bad_rows(root / "csv_source")
    for path in (root / "csv_one" / "quarantine").iterdir():
        assert path.read_bytes() == (root / "csv_many" / "quarantine" / path.name).read_bytes(), path.name


def test_a_partition_per_client_with_empty_partitions_changes_nothing(trained, active_at):

    root, uri, model = trained
    data = _first_clients(root / "data", root / "dozen", 12)
    config = load_config(None, {"drift": {"stop_on": "never"}})
    one = score(data, out=root / "dozen_one", config=config, tracking_uri=uri, model_uri=model)
    many = score(data, out=root / "dozen_many", config=config, tracking_uri=uri, model_uri=model,
                 partition_clients=1)
    assert many["partitions"] == 12
    assert one["clients_scored"] == many["clients_scored"] == len(active_at(data, one["as_of"])) > 0
    for name in LIST_FILES:
        assert (root / "dozen_one" / name).read_bytes() == (root / "dozen_many" / name).read_bytes(), name


@pytest.fixture(scope="module")
def listed_mid_november(trained) -> Path:
    """Read-only: a folder holding one run as of 2025-11-15 (capacity 100), a list whose 30-day horizon
    has passed by the data's end: the tests of grading copy it instead of scoring it again."""
    import datetime as dt

    root, uri, model = trained
    out = root / "november"
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=100,
          as_of_date=dt.date(2025, 11, 15))
    assert not (out / "monitoring.csv").exists()  # nothing has matured yet
    return out


def test_lists_are_not_graded_without_a_churn_table(trained, listed_mid_november):
    root, uri, model = trained
    out = _copy(listed_mid_november, root / "no_churn_monitoring")  # a list that would be graded
    data = _copy_without(root / "data", root / "no_churn_data", lambda name, f: f)
    (data / "churn.parquet").unlink()
    result = score(data, out=out, config=load_config(None, {"drift": {"stop_on": "never"}}), tracking_uri=uri,
                   model_uri=model, capacity=50)
    assert result["monitoring"] == [] and not (out / "monitoring.csv").exists()


def test_features_per_partition_equal_features_of_the_whole(trained, tmp_path):
    import pandas as pd

    from features import build_features
    from pipeline.data import contract, partitions
    from pipeline.tracking.registry import configure, load_model

    root, uri, model = trained
    configure(uri)
    spec = load_model(model).bundle.spec
    cutoff = pd.Timestamp("2025-11-30")
    whole = contract.load_folder(root / "data", quarantine_dir=None, max_rejected_share=1.0, require_churn=False)
    expected = build_features(whole.tables, [cutoff], spec).sort_values("client_id").reset_index(drop=True)
    split = partitions.split(root / "data", tmp_path / "split", 4, require_churn=False)
    parts = [build_features(contract.validate(split.partition(p), quarantine_dir=None, max_rejected_share=1.0).tables,
                            [cutoff], spec) for p in range(4)]
    assert all(len(part) for part in parts)
    got = pd.concat(parts).sort_values("client_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


# ------------------------------------------------------------------ publication

def test_runs_are_published_as_a_set_and_pruned(trained):
    root, uri, model = trained
    out = root / "published"
    config = load_config(None, {"scoring": {"keep_runs": 2}})
    for day in ("2025-12-29", "2025-12-30", "2025-12-31"):
        import datetime as dt

        score(root / "data", out=out, config=config, tracking_uri=uri, model_uri=model, capacity=20,
              as_of_date=dt.date.fromisoformat(day))
    current = os.readlink(out / "current")
    assert current.startswith("runs/") and current.endswith("_2025-12-31")
    for name in LIST_FILES:
        assert os.readlink(out / name) == f"current/{name}"
        assert (out / name).read_bytes() == (out / current / name).read_bytes()
    assert len([p for p in (out / "runs").iterdir()]) == 2
    assert sorted(p.name for p in (out / "history").iterdir()) == [
        f"{kind}_{day}.parquet" for kind in ("risk_list", "scores") for day in ("2025-12-29", "2025-12-30",
                                                                                  "2025-12-31")]
    # what a killed run leaves behind is cleared by the next one
    (out / "runs" / ".tmp-leftover").mkdir()
    (out / ".risk_list.csv.123.tmp").write_text("partial")
    score(root / "data", out=out, config=config, tracking_uri=uri, model_uri=model, capacity=20)
    assert not (out / "runs" / ".tmp-leftover").exists() and not (out / ".risk_list.csv.123.tmp").exists()


def _env(uri: str) -> dict[str, str]:
    return {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}


def _snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in LIST_FILES}


def _score_here(root: Path, uri: str, model: str, out: Path, as_of: str | None = None) -> None:
    """In this process, the run `churn score --data <root>/data --out <out> --model <model>
    [--as-of <as_of>] --capacity 30` does: the runs around a kill that are not themselves killed (the
    command's process is the point only for the run that is killed)."""
    import datetime as dt

    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=30,
          as_of_date=None if as_of is None else dt.date.fromisoformat(as_of))


@pytest.fixture(scope="module")
def published(trained) -> tuple[Path, Path]:
    """Read-only folders for the kill tests, scored in this process: `first`, one run as of
    2025-12-30 (each test copies it, as the folder a killed run finds), and `reference`, the same
    run followed by one as of 2025-12-31, never interrupted (same history, same ranks)."""
    root, uri, model = trained
    first, reference = root / "published_first", root / "published_reference"
    _score_here(root, uri, model, reference, "2025-12-30")
    _copy(reference, first)
    _score_here(root, uri, model, reference, "2025-12-31")
    return first, reference


def test_a_run_killed_while_writing_leaves_the_previous_list(trained, forks, published):
    import shutil
    import signal
    import time

    root, uri, model = trained
    first, reference = published
    out = root / "killed"
    shutil.copytree(first, out, symlinks=True)  # a run as of 2025-12-30 published here
    before = _snapshot(out)
    # kill the next run the moment it starts writing its outputs
    victim = forks.start(CHURN_SCORE, ["--data", str(root / "data"), "--out", str(out), "--model", model,
                                       "--capacity", "30"], root, _env(uri))
    deadline = time.time() + 120
    while time.time() < deadline and not any((out / "runs").glob(".tmp-*/*")):
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    assert _snapshot(out) == before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    # the rerun after a kill publishes the expected list: that of the same two runs never interrupted
    _score_here(root, uri, model, out)
    assert _snapshot(out) == _snapshot(reference)
    assert not any((out / "runs").glob(".tmp-*"))


KILL_AT = {  # the step of the publication a SIGKILL lands on, and which list readers see after it
    "staged, before the rename": ("fsync_tree", 1, "before"),
    "renamed, before the switch": ("_switch", 1, "before"),
    "current switched, links not yet checked": ("replace_link", 2, "after"),
    "switched, history not yet written": ("record_history", 2, "after"),
    "history written, old runs not yet pruned": ("_prune_runs", 1, "after"),
}
KILLER = """
import os, signal, sys
from pipeline.publish import runs as scoring
name, nth = sys.argv[1], int(sys.argv[2])
original, calls = getattr(scoring, name), []
def killing(*args, **kwargs):
    calls.append(1)
    if len(calls) == nth:
        if name == "fsync_tree":
            original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(scoring, name, killing)
from pipeline.cli import main
sys.argv = ["churn", "score", *sys.argv[3:]]
main()
"""


def test_a_kill_at_every_step_of_publication_leaves_one_whole_list(trained, forks, published):
    import shutil

    root, uri, model = trained
    first, reference = published
    after = _snapshot(reference)
    before = _snapshot(first)
    for step, (function, nth, expected) in KILL_AT.items():
        out = root / f"kill_{function}"
        shutil.copytree(first, out, symlinks=True)
        victim = forks.run(KILLER, [function, str(nth), "--data", str(root / "data"), "--out", str(out), "--model",
                                    model, "--as-of", "2025-12-31", "--capacity", "30"], root, _env(uri))
        assert victim.returncode == -9, (step, victim.stderr)
        assert _snapshot(out) == (before if expected == "before" else after), step
        assert not [p for p in out.iterdir() if p.name.endswith(".tmp")], step
        assert json.loads((out / "manifest.json").read_text())["status"] == "running", step
    # the next run rolls forward the history of a run killed between its switch and its history
    out = root / "kill_record_history"
    assert not (out / "history" / "risk_list_2025-12-31.parquet").exists()
    _score_here(root, uri, model, out, "2025-12-31")
    assert _snapshot(out) == after
    for kept in ("risk_list_2025-12-31.parquet", "scores_2025-12-31.parquet"):
        assert (out / "history" / kept).read_bytes() == (reference / "history" / kept).read_bytes()


def test_a_folder_of_the_previous_layout_is_adopted(trained, scored_once):
    root, uri, model = trained
    source = scored_once  # its list (40 clients) as the files of a first release
    out = root / "legacy"
    out.mkdir()
    for name in LIST_FILES:  # plain files, as the first releases wrote them
        (out / name).write_bytes((source / name).read_bytes())
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=25)
    assert all((out / name).is_symlink() for name in LIST_FILES)
    assert len(list((out / "runs").glob("*_legacy"))) == 1
    for name in LIST_FILES:
        assert (out / "runs" / next((out / "runs").glob("*_legacy")).name / name).read_bytes() == \
            (source / name).read_bytes()
    assert len(__import__("pandas").read_parquet(out / "risk_list.parquet")) == 25


# ------------------------------------------------------------------ gates

def _copy_without(source: Path, target: Path, edit) -> Path:
    import pandas as pd

    target.mkdir(parents=True)
    for path in source.glob("*.parquet"):
        if path.stem != "truth":
            edit(path.stem, pd.read_parquet(path)).to_parquet(target / path.name, index=False)
    return target


def test_drift_gate_stops_with_exit_3_and_keeps_the_previous_list(trained, scored_once, churn_here):
    import pandas as pd

    root, uri, model = trained
    out = _copy(scored_once, root / "drifted")  # a list published here
    before = _snapshot(out)

    def quiet_last_quarter(name, frame):  # every client stops using the product for 90 days
        if name == "events":
            return frame[frame["timestamp"] < pd.Timestamp("2025-10-01", tz="UTC")]
        return frame

    data = _copy_without(root / "data", root / "quiet", quiet_last_quarter)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}
    done = churn_here(["score", "--data", str(data), "--out", str(out), "--model", model, "--as-of", "2025-12-31",
                       "--capacity", "25"], root, env, expect=3)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: stopped by the drift gate") and "score PSI" in last
    assert "Traceback" not in done.stderr
    assert _snapshot(out) == before
    report = pd.read_csv(out / "drift_report.csv")
    assert {"column", "psi", "status"} <= set(report.columns)
    assert report.set_index("column").loc["churn_probability", "status"] == "stop"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "stopped" and manifest["exit_code"] == 3
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("churn-scoring").experiment_id],
                              filter_string="tags.status = 'stopped'")
    assert any(r.data.metrics.get("drift_score_psi", 0) > 0.25 and r.info.artifact_uri for r in runs)
    # the same data scored with the gate set to report only goes through
    result = score(data, out=out, config=load_config(None, {"drift": {"stop_on": "never"}}), tracking_uri=uri,
                   model_uri=model, capacity=25)
    assert result["drift"]["stop"] is False and _snapshot(out) != before


def test_a_feature_the_data_cannot_provide_stops_the_run(trained, active_at):
    from features.errors import GateStop

    root, uri, model = trained
    data = _copy_without(root / "data", root / "no_plan",
                         lambda name, f: f.drop(columns=["plan"]) if name == "clients" else f)
    with pytest.raises(GateStop, match=r"clients\.plan \(feature client_plan\)"):
        score(data, out=root / "no_plan_out", config=load_config(None), tracking_uri=uri, model_uri=model)
    relaxed = load_config(None, {"scoring": {"missing_features": "warn"}})
    result = score(data, out=root / "no_plan_out", config=relaxed, tracking_uri=uri, model_uri=model)
    assert result["clients_scored"] == len(active_at(root / "data", result["as_of"]))


def test_matured_lists_are_graded_into_monitoring_and_mlflow(trained, listed_mid_november):
    import datetime as dt

    import mlflow
    import pandas as pd
    from mlflow import MlflowClient

    from features.errors import GateStop

    root, uri, model = trained
    out = _copy(listed_mid_november, root / "monitored")  # the list as of 2025-11-15, capacity 100
    config = load_config(None)
    result = score(root / "data", out=out, config=config, tracking_uri=uri, model_uri=model, capacity=100,
                   as_of_date=dt.date(2025, 12, 31))
    monitoring = pd.read_csv(out / "monitoring.csv", dtype={"list_as_of": str})
    assert monitoring["list_as_of"].tolist() == ["2025-11-15"]
    row = monitoring.iloc[0]
    assert row["churners"] > 0 and 0.5 < row["roc_auc"] <= 1 and row["capacity"] == 100
    assert row["lift_at_capacity"] == pytest.approx(row["precision_at_capacity"] / row["base_rate"])
    assert result["monitoring"][0]["list_as_of"] == "2025-11-15"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.get_experiment_by_name("churn-scoring")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.as_of = '2025-12-31'")
    assert any("realised_roc_auc_2025-11-15" in r.data.metrics for r in runs)
    # a threshold the model cannot meet, set to stop: exit 3 and nothing published
    strict = load_config(None, {"monitoring": {"min_roc_auc": 0.999, "on_breach": "stop"}})
    # the same list as of 2025-11-15 (the thresholds only matter once a list is graded)
    again = _copy(listed_mid_november, root / "monitored_strict")
    before = _snapshot(again)
    with pytest.raises(GateStop, match="stopped by monitoring: realised ROC AUC"):
        score(root / "data", out=again, config=strict, tracking_uri=uri, model_uri=model, capacity=100)
    assert _snapshot(again) == before and (again / "monitoring.csv").exists()
    # the list is graded once, but the stop holds on the next night while the model is the same
    with pytest.raises(GateStop, match="stopped by monitoring"):
        score(root / "data", out=again, config=strict, tracking_uri=uri, model_uri=model, capacity=100)
    assert len(pd.read_csv(again / "monitoring.csv")) == 1
    del mlflow
