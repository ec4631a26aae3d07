"""docs/features.md is generated from the builders and cannot rot."""

import os
from pathlib import Path

from features.declarations import FAMILIES, UNITS

ROOT = Path(__file__).resolve().parents[2]


def test_docs_feature_catalogue_is_up_to_date(tmp_path, churn_here):
    # the two commands of `make docs`, run in this process (tests/conftest.py)
    env = dict(os.environ)
    churn_here(["generate", "--out", str(tmp_path / "d"), "--clients", "300", "--seed", "7"], tmp_path, env)
    churn_here(["features", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "f.md")], tmp_path, env)
    assert (tmp_path / "f.md").read_text() == (ROOT / "docs" / "features.md").read_text(), \
        "docs/features.md is stale: run `make docs`"


def test_every_feature_has_a_source_and_a_meaning():
    lines = [line for line in (ROOT / "docs" / "features.md").read_text().splitlines() if line.startswith("| `")]
    assert len(lines) > 50
    for line in lines:
        name, source, family, _, unit, direction, actionable, meaning = [cell.strip()
                                                                         for cell in line.strip("|").split("|")]
        assert source in {"events", "surveys", "tickets", "clients"}, line
        assert family in FAMILIES and unit in UNITS, line
        assert direction in {"raises risk", "lowers risk", "unknown"} and actionable in {"yes", "no"}, line
        assert meaning and meaning != name.strip("`"), line
