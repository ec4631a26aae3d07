"""End-to-end benchmark: generate N clients, then train and score them with the real CLI.

Each stage runs `churn ... --json` in its own process; wall time comes from the clock and
peak RSS from that process's own rusage (os.wait4), so no stage inherits another's memory.
The figures go to benchmarks/RESULTS.md between this benchmark's markers, with the command.

    .venv/bin/python benchmarks/bench_pipeline.py --clients 100000 [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- bench_pipeline:begin -->", "<!-- bench_pipeline:end -->"


def run_stage(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[dict, float, float]:
    """(json result, wall seconds, peak RSS in MiB) of one CLI call."""
    started = time.perf_counter()
    with open(cwd / "stage.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args, "--json"], cwd=cwd, env=env,
                                stdout=subprocess.PIPE, stderr=log)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {args[0]} failed (see {cwd / 'stage.log'})")
    return json.loads(out.decode().strip().splitlines()[-1]), seconds, usage.ru_maxrss / 1024


def commit() -> str:
    """The commit measured, marked when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" plus uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per stage; the median is reported")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_work")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()

    work = args.work / f"pipeline_{args.clients}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "PYTHONPATH": str(ROOT)}
    data = work / "data"
    samples: dict[str, list[tuple[dict, float, float]]] = {"generate": [], "train": [], "score": []}
    for k in range(args.repeat):
        shutil.rmtree(data, ignore_errors=True)
        samples["generate"].append(
            run_stage(["generate", "--out", str(data), "--clients", str(args.clients)], work, env))
        samples["train"].append(run_stage(["train", "--data", str(data), "--out", str(work / "train")], work, env))
        samples["score"].append(run_stage(["score", "--data", str(data), "--out", str(work / "risk")], work, env))
        print(f"run {k + 1}/{args.repeat} done", file=sys.stderr)

    def median(stage: str, i: int) -> float:
        return statistics.median(s[i] for s in samples[stage])

    gen = samples["generate"][-1][0]
    events = gen["rows"]["events"]
    train = samples["train"][-1][0]
    score = samples["score"][-1][0]
    train_features = statistics.median(s[0]["timings_s"]["features"] for s in samples["train"])
    score_features = statistics.median(s[0]["timings_s"]["features"] for s in samples["score"])
    fit_seconds = statistics.median(s[0]["timings_s"]["fit"] for s in samples["train"])
    n_cutoffs = len(train["cutoffs"])
    rows = [
        ("generate", median("generate", 1), median("generate", 2),
         f"{events:,} events, {gen['rows']['clients']:,} clients"),
        ("train (whole command)", median("train", 1), median("train", 2),
         f"{n_cutoffs} cutoffs; features {train_features:.1f} s, fit {fit_seconds:.1f} s; "
         f"validation ROC AUC {train['metrics']['roc_auc']:.3f} "
         f"(oracle {train['metrics'].get('oracle_roc_auc', float('nan')):.3f})"),
        ("score (whole command)", median("score", 1), median("score", 2),
         f"{score['clients_scored']:,} clients, {score['clients_listed']:,} listed; stages "
         + ", ".join(f"{k} {v:.1f} s" for k, v in score["timings_s"].items())
         + f"; features {events / max(score_features, 1e-9) / 1e6:.1f} M events/s, "
         f"{score['clients_scored'] / max(score_features, 1e-9):,.0f} clients/s"),
    ]
    command = f".venv/bin/python benchmarks/bench_pipeline.py --clients {args.clients} --repeat {args.repeat}"
    lines = [BEGIN, f"## Pipeline end to end, {args.clients:,} clients", "",
             f"Command: `{command}`  ", f"Machine: {machine()}  ", f"Commit: {commit()}  ",
             f"Median of {args.repeat} run(s); each stage is one `churn` process, peak RSS from its own rusage.", "",
             "| stage | wall s | peak RSS MiB | detail |", "|---|---:|---:|---|"]
    lines += [f"| {name} | {sec:.1f} | {rss:,.0f} | {detail} |" for name, sec, rss, detail in rows]
    lines += ["", END]
    emit(BEGIN, END, "\n".join(lines), write=not args.no_write)


def emit(begin: str, end: str, block: str, write: bool = True) -> None:
    """Print a benchmark's block and, unless told not to, put it in RESULTS.md between its markers."""
    print(block)
    if write:
        write_block(RESULTS, begin, end, block)


def write_block(results: Path, begin: str, end: str, block: str) -> None:
    """Put `block` between its markers in `results` (replacing the previous one), or at the end."""
    text = (results.read_text() if results.exists()
            else "# Benchmark results\n\n"
                 "Figures written by the scripts in this folder; each block names its command.\n")
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    results.write_text(text)


if __name__ == "__main__":
    main()
