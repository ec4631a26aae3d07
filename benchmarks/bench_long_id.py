"""Memory guard benchmark (issue 16): peak RSS of `churn score` on the same data with and without a
client_id of 1 MB in every table (one extra row per table). Target: within 1.5x.

Train once on N generated clients, then score the plain folder and the folder with the long id,
each in its own process (peak RSS from os.wait4). The figures go to benchmarks/RESULTS.md between
this benchmark's markers, with the command.

    .venv/bin/python benchmarks/bench_long_id.py --clients 20000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import RESULTS, commit, machine  # noqa: E402

from pipeline.synth.altered import altered_copy, with_extra_row  # noqa: E402

BEGIN, END = "<!-- bench_long_id:begin -->", "<!-- bench_long_id:end -->"
LONG_ID = "x" * (1 << 20)


def churn(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, float, float]:
    """(exit code, seconds, peak RSS MiB) of one CLI call in its own process."""
    started = time.perf_counter()
    with open(cwd / "stage.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, env=env, stdout=log,
                                stderr=log)
        _, status, usage = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss / 1024


def with_long_id(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """One more row under the long id (a ticket keeps an id of its own)."""
    return with_extra_row(frame, client_id=LONG_ID, ticket_id="long-id-ticket")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "_work" / "long_id")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = args.work.resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
    for step in (["generate", "--out", str(work / "plain"), "--clients", str(args.clients), "--seed", "7"],
                 ["train", "--data", str(work / "plain"), "--out", str(work / "train")]):
        code, _, _ = churn(step, work, env)
        if code:
            raise SystemExit(f"{step[0]} failed (see {work / 'stage.log'})")
    altered_copy(work / "plain", work / "long", with_long_id)
    rows = []
    for name in ("plain", "long"):
        code, seconds, peak = churn(["score", "--data", str(work / name), "--out", str(work / f"risk_{name}")],
                                    work, env)
        rows.append((name, code, seconds, peak))
    ratio = rows[1][3] / rows[0][3]
    command = f".venv/bin/python benchmarks/bench_long_id.py --clients {args.clients}"
    lines = [BEGIN, f"## Memory guard: a 1 MB client_id in every table ({args.clients:,} clients, issue 16)", "",
             f"`{command}` on {commit()}; {machine()}; {time.strftime('%Y-%m-%d')}.", "",
             "| data | exit | seconds | peak RSS (MiB) |", "|---|---:|---:|---:|"]
    lines += [f"| {'with the 1 MB id' if n == 'long' else 'plain'} | {c} | {s:.1f} | {p:,.0f} |"
              for n, c, s, p in rows]
    lines += ["", f"Peak RSS with the long id / without: **{ratio:.2f}x** (target: within 1.5x). Before the "
              "text limit (data.max_text_length) a 64 KB id took a score to 3.4 GB and a 1 MB id past 20 GB.", END]
    block = "\n".join(lines)
    print(block)
    if not args.no_write:
        text = RESULTS.read_text(encoding="utf-8")
        if BEGIN in text:
            text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
