"""A model's pinned packages against this Python's (pipeline/tracking/environment.py), on tiny folders."""

from __future__ import annotations

import logging
import platform
from importlib.metadata import version
from pathlib import Path

from pipeline.tracking import environment


def _model_folder(tmp_path: Path, requirements: str, python_version: str) -> Path:
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    (tmp_path / "MLmodel").write_text(f"flavors:\n  python_function:\n    python_version: {python_version}\n",
                                      encoding="utf-8")
    return tmp_path


def test_a_folder_pinned_to_this_python_has_no_mismatch(tmp_path):
    pins = f"mlflow=={version('mlflow')}\nlightgbm=={version('lightgbm')}\npandas=={version('pandas')}\n"
    assert environment.mismatches(_model_folder(tmp_path, pins, platform.python_version())) == []


def test_every_other_version_and_a_missing_package_are_named(tmp_path):
    pins = (f"lightgbm==0.0.1\npandas=={version('pandas')}\nno-such-package-here==1.0\n"
            "-r other.txt\nnumpy>=1\n")  # lines that are not exact pins are not checked
    folder = _model_folder(tmp_path, pins, "2.7.18")
    assert environment.mismatches(folder) == [
        f"Python 2.7.18, running {platform.python_version()}",
        f"lightgbm 0.0.1, installed {version('lightgbm')}",
        "no-such-package-here 1.0 is not installed",
    ]


def test_a_mismatch_is_one_warning_naming_the_model(tmp_path, caplog):
    folder = _model_folder(tmp_path, "lightgbm==0.0.1\n", platform.python_version())
    with caplog.at_level(logging.WARNING, logger="pipeline.tracking.environment"):
        environment.warn_mismatches(folder, "model churn version 3")
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("model churn version 3 was registered with other versions")
    assert "lightgbm 0.0.1, installed" in caplog.records[0].getMessage()


def test_a_folder_without_records_has_nothing_to_say(tmp_path):
    (tmp_path / "MLmodel").write_text("flavors: [not, a, mapping]\n", encoding="utf-8")
    assert environment.mismatches(tmp_path) == []
