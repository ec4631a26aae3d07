"""The README in the order users come (two commands, the retention team's outputs, the data
scientist's loop, the nightly run, scale-out), every link to a file of this repository, the Python
versions pyproject allows, and the store rule it promises (the same words as the code's)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _headings() -> list[str]:
    fence, found = False, []
    for line in README.splitlines():
        fence = fence != line.startswith("```")
        if not fence and line.startswith("## "):
            found.append(line[3:])
    return found


def test_sections_come_in_the_order_users_come():
    headings = _headings()
    order = ["Two commands", "The risk list", "For data scientists", "Nightly scoring", "Scaling out on Dask"]
    positions = [next(i for i, h in enumerate(headings) if h.startswith(name)) for name in order]
    assert positions == sorted(positions) and positions[0] == 0, headings


def test_every_link_points_to_a_file_of_this_repository():
    targets = re.findall(r"\]\(([^)\s]+)\)", README)
    assert targets, "no link found"
    for target in targets:
        assert not re.match(r"[a-z]+:", target), f"a link leaves the repository: {target}"
        assert (ROOT / target.split("#")[0]).exists(), f"a link to a missing file: {target}"


def test_the_python_versions_said_are_the_ones_pyproject_allows():
    allowed = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert allowed == ">=3.11,<3.14" and "Python 3.11, 3.12 or 3.13" in README and "3.11+" not in README


def test_the_store_rule_is_written_as_the_code_applies_it():
    from pipeline.tracking.store import APP_FOLDER, DB_NAME

    rule = README[README.index("### Where the MLflow store is"):]
    steps = [rule.index(s) for s in ("`MLFLOW_TRACKING_URI`", "`registry.tracking_uri`",
                                     f"`$XDG_DATA_HOME/{APP_FOLDER}/{DB_NAME}`",
                                     f"`~/.local/share/{APP_FOLDER}/{DB_NAME}`")]
    assert steps == sorted(steps)
