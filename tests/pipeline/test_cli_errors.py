"""An unexpected error in the CLI: exit 1, one line on stderr naming churn-error.log, and the
traceback in that file (not on the terminal). An --out the command cannot write is not unexpected:
exit 2, one line naming it, no log."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `churn <args>`, as `forks` runs it (tests/conftest.py): the real command in a process of its own (its
# exit code, and all it writes on stderr: the error line and whatever Python or a library would print
# there), forked rather than a new interpreter
CHURN = "import sys\nfrom pipeline.cli import main\nsys.argv = ['churn', *sys.argv[1:]]\nmain()\n"


def _churn(forks, args: list[str], cwd: Path, tracking_uri: str):
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    return forks.run(CHURN, args, cwd, env)


def test_an_unexpected_error_exits_1_with_the_traceback_in_churn_error_log(tmp_path, forks):
    # the tracking store is not a database: nothing a churn flag can fix, so unexpected
    (tmp_path / "mlflow.db").write_text("not a database\n")
    done = _churn(forks, ["promote", "1"], tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}")
    log = tmp_path / "churn-error.log"
    assert done.returncode == 1
    # one line, though sqlalchemy's message runs over three: the rest is in the log
    assert done.stderr.splitlines() == [
        f"error: unexpected DatabaseError: (sqlite3.DatabaseError) file is not a database (traceback in {log})"]
    trace = log.read_text(encoding="utf-8")
    assert trace.startswith("Traceback (most recent call last):")
    assert "[SQL: " in trace and "sqlalchemy.exc.DatabaseError" in trace
    assert done.stdout == ""


def test_an_out_under_a_file_exits_2_naming_it_without_a_log(tmp_path, forks):
    # the folder the command must write into cannot be created: its parent is a file
    (tmp_path / "taken").write_text("a file, not a folder\n")
    done = _churn(forks, ["generate", "--out", "taken/data", "--clients", "10"], tmp_path,
                  f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: taken/data: cannot be created: a part of the path is a file, not a folder"]
    assert not (tmp_path / "churn-error.log").exists() and done.stdout == ""
    assert (tmp_path / "taken").read_text() == "a file, not a folder\n"
