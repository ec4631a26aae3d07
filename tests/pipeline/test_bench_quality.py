"""The quality benchmark runs end to end in its smoke mode (tiny data, one seed) and leaves
RESULTS.md alone; its figures are measured by `make bench-quality`, not asserted here."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ("default", "snapshot", "sparse", "interactions")
# `python <script> <args>` as `forks` runs it (tests/conftest.py): the script run as __main__ in a process of
# its own (its folder first on sys.path, as Python puts it), forked rather than a new interpreter importing
# pandas, LightGBM and MLflow again
SCRIPT = ("import runpy, sys\nfrom pathlib import Path\nscript = sys.argv[1]\nsys.argv = sys.argv[1:]\n"
          "sys.path.insert(0, str(Path(script).parent))\nrunpy.run_path(script, run_name='__main__')\n")


def test_bench_quality_smoke_mode_grades_every_profile_against_the_baselines(tmp_path, forks):
    before = (ROOT / "benchmarks" / "RESULTS.md").read_bytes()
    # the benchmark's --config, set to few trees, no linear blend and 4 monthly cutoffs (the 2 latest validate):
    # the run checks the plumbing, not the figures
    quick = tmp_path / "quick.yaml"
    quick.write_text("training:\n  max_boost_rounds: 100\n  linear_blend: false\n  n_cutoffs: 4\n", encoding="utf-8")
    done = forks.run(SCRIPT, [ROOT / "benchmarks" / "bench_quality.py", "--smoke", "--no-write", "--work", tmp_path,
                              "--config", quick], tmp_path, {**os.environ, "PYTHONPATH": str(ROOT)}, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "profile" not in line]
    # each profile printed once as it finished, then once in the table
    assert sorted({row.split("|")[1].strip() for row in rows}) == sorted(PROFILES)
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[3] in {"logistic regression", "LightGBM on plain counts"} or cells[3].startswith("recency")
        assert 0.5 <= float(cells[2]) <= 1.0 and cells[6] in {"yes", "no"}
    assert "Commit: " in done.stdout and (ROOT / "benchmarks" / "RESULTS.md").read_bytes() == before
