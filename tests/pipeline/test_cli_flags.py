"""The command's own flags: --version, flags that take no value, -v/-q before or after the
subcommand (in-process: the flags' parsing, not the process, is the point here)."""

from importlib.metadata import version

from typer.testing import CliRunner

from pipeline.cli import app, global_flags_first


def test_version_prints_the_installed_distributions_version():
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.stdout == f"churn-pipeline {version('churn-pipeline')}\n"


def test_flags_are_shown_as_flags_not_as_options_taking_a_value():
    done = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "120"})
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip().startswith("--")}
    assert lines["--json"].split()[1] == "Print" and "<bool>" not in done.stdout
    assert lines["--data"].split()[1] == "<str>"  # an option that takes a value says so


def test_global_flags_move_before_the_subcommand_and_nothing_after_a_double_dash():
    assert global_flags_first(["score", "--data", "d", "-v"]) == ["-v", "score", "--data", "d"]
    assert global_flags_first(["train", "-q", "--json"]) == ["-q", "train", "--json"]
    assert global_flags_first(["-v", "score"]) == ["-v", "score"]
    assert global_flags_first(["score", "--", "-v"]) == ["score", "--", "-v"]


def test_quiet_after_the_subcommand_leaves_only_warnings_in_the_log(tmp_path, churn_here):
    churn_here(["generate", "--out", str(tmp_path / "data"), "--clients", "20"], tmp_path, {})
    listing = ["features", "--data", str(tmp_path / "data")]
    plain, quiet = churn_here(listing, tmp_path, {}), churn_here([*listing, "-q"], tmp_path, {})
    assert "clients.parquet: 20 rows read, 20 used, 0 set aside" in plain.stderr
    assert quiet.stderr == "" and quiet.stdout == plain.stdout != ""
    both = churn_here([*listing, "-q", "-v"], tmp_path, {}, expect=2)
    assert both.stderr.strip() == "error: -v/--verbose and -q/--quiet cannot be used together"


def test_the_demo_says_how_to_open_the_training_runs_in_the_mlflow_ui():
    from pipeline.exports.console import ui_lines

    page = "#/experiments/4?workflowType=machine_learning"
    assert ui_lines("http://mlflow.internal:5000/", "4") == [f"open http://mlflow.internal:5000/{page}"]
    assert ui_lines("sqlite:////home/ana/.local/share/churn-pipeline/mlflow.db", "4", ".venv/bin/mlflow") == [
        "open with: .venv/bin/mlflow ui --backend-store-uri sqlite:////home/ana/.local/share/churn-pipeline/mlflow.db",
        f"then:      http://127.0.0.1:5000/{page}"]
