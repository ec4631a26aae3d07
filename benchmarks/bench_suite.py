"""Test-suite benchmark (issue 12): the wall time of the whole suite on a warm venv, as `make test` runs
it (`pytest -q -n auto`, after ruff). Target: at most 5 minutes on 2 cores.

Each run is one `pytest` process of its own; its wall time, its children's CPU time (os.wait4) and the
last line pytest printed are recorded. The figures go to benchmarks/RESULTS.md between this
benchmark's markers, with the command, the CPU model (wall times differ between machines of the same
size) and the commit. Run it on a quiet machine: another process on either core lengthens every run.

    .venv/bin/python benchmarks/bench_suite.py --repeat 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import commit, emit, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- bench_suite:begin -->", "<!-- bench_suite:end -->"
TARGET_S = 300.0


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def one_run() -> dict:
    """Wall and CPU seconds of one whole suite, and pytest's summary line."""
    before, started = os.times(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "auto", "-p", "no:cacheprovider"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall, after = time.perf_counter() - started, os.times()  # a reaped child's CPU joins children_*
    cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    summary = next((line.strip("= ") for line in reversed(done.stdout.splitlines()) if " in " in line), "?")
    return {"wall": wall, "cpu": cpu, "summary": summary, "code": done.returncode}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    measured = commit()
    runs = []
    for _ in range(args.repeat):
        run = one_run()
        runs.append(run)
        print(f"{run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU: {run['summary']}", flush=True)
    median = statistics.median(r["wall"] for r in runs)
    lines = [BEGIN, "## The whole test suite on a warm venv (issue 12)", "",
             f"Command: `.venv/bin/python benchmarks/bench_suite.py --repeat {args.repeat}` (each run: "
             "`pytest -q -n auto`, what `make test` runs after ruff)  ",
             f"Machine: {machine()}, {cpu_model()}  ", f"Commit: {measured}  ",
             f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             "| run | wall | CPU (all workers) | pytest |", "|---:|---:|---:|---|"]
    lines += [f"| {i} | {r['wall'] // 60:.0f} min {r['wall'] % 60:.0f} s | {r['cpu']:.0f} s | {r['summary']} |"
              for i, r in enumerate(runs, 1)]
    verdict = "met" if median <= TARGET_S and all(r["code"] == 0 for r in runs) else "not met"
    lines += ["", f"Median wall time **{median // 60:.0f} min {median % 60:.0f} s** "
                  f"(target: at most 5 min: {verdict}).", END]
    emit(BEGIN, END, "\n".join(lines), write=not args.no_write)


if __name__ == "__main__":
    main()
