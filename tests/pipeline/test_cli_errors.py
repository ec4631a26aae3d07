"""An unexpected error in the CLI: exit 1, one line on stderr naming churn-error.log, and the
traceback in that file (not on the terminal)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_an_unexpected_error_exits_1_with_the_traceback_in_churn_error_log(tmp_path):
    # the folder the command must write into cannot be created: its parent is a file
    (tmp_path / "taken").write_text("a file, not a folder\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "generate", "--out", "taken/data", "--clients", "10"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    log = tmp_path / "churn-error.log"
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"error: unexpected NotADirectoryError: [Errno 20] Not a directory: 'taken/data' (traceback in {log})"]
    trace = log.read_text(encoding="utf-8")
    assert trace.startswith("Traceback (most recent call last):")
    assert "in mkdir" in trace
    assert trace.rstrip().endswith("NotADirectoryError: [Errno 20] Not a directory: 'taken/data'")
    assert not (tmp_path / "taken" / "data").exists() and done.stdout == ""
