"""Chart cost: CPU seconds of each chart of the risk report and of training, and of a warm score.

Generates N clients and trains once (in --work, reused when there), recording the arguments every
chart is drawn with; then, in this process, draws each chart --repeat times (the median of
time.process_time: other processes on the machine do not count) and runs `score` --scores times in
English and in Spanish after one warm-up score (the median CPU of a whole score, and of its charts).
`--save FILE` keeps the figures as JSON; `--before FILE` puts such figures beside these ones in the
table. The table goes to benchmarks/RESULTS.md between this benchmark's markers, with the command.

    .venv/bin/python benchmarks/bench_charts.py --save benchmarks/_work/charts/before.json --no-write
    .venv/bin/python benchmarks/bench_charts.py --before benchmarks/_work/charts/before.json
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import RESULTS, commit, machine  # noqa: E402

from pipeline.exports import charts  # noqa: E402

BEGIN, END = "<!-- bench_charts:begin -->", "<!-- bench_charts:end -->"
CHARTS = ("histogram", "value_by_band", "bars", "nps_mix", "reliability", "gains", "profit", "importance")


@contextlib.contextmanager
def recording(calls: dict[str, list] | None, seconds: list[float] | None = None):
    """Every chart function of `charts` wrapped: its arguments kept in `calls` (a name's first calls),
    its CPU seconds added to `seconds`."""
    originals = {name: getattr(charts, name) for name in CHARTS}

    def wrap(name, draw):
        @functools.wraps(draw)
        def wrapped(*args, **kwargs):
            started = time.process_time()
            try:
                return draw(*args, **kwargs)
            finally:
                if seconds is not None:
                    seconds.append(time.process_time() - started)
                if calls is not None:
                    calls.setdefault(name, []).append((args, kwargs))
        return wrapped

    for name, draw in originals.items():
        setattr(charts, name, wrap(name, draw))
    try:
        yield
    finally:
        for name, draw in originals.items():
            setattr(charts, name, draw)


def prepare(work: Path, clients: int) -> dict:
    """Data, a trained store and the recorded chart calls (training's and an English score's)."""
    from pipeline.config import load_config
    from pipeline.jobs.score import score
    from pipeline.jobs.train import train
    from pipeline.synth.generator import generate

    saved = work / "prepared.pickle"
    if saved.exists():
        return pickle.loads(saved.read_bytes())
    work.mkdir(parents=True, exist_ok=True)
    generate(work / "data", n_clients=clients, seed=4)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    calls: dict[str, list] = {}
    with recording(calls):
        result = train(work / "data", config=load_config(None), tracking_uri=uri, out=work / "train")
        for lang in ("en", "es"):
            score(work / "data", out=work / f"warm_{lang}", config=load_config(None), tracking_uri=uri,
                  model_uri=result["model_uri"], lang=lang)
    prepared = {"uri": uri, "model_uri": result["model_uri"], "calls": calls}
    saved.write_bytes(pickle.dumps(prepared))
    return prepared


def cpu(draw, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        draw()
        times.append(time.process_time() - started)
    return statistics.median(times)


def measure_charts(calls: dict[str, list], repeat: int) -> dict[str, dict]:
    """Per chart kind: median CPU seconds of each recorded call, summed over the calls, and PNG bytes."""
    out = {}
    for name in CHARTS:
        recorded = calls.get(name, [])
        draw = getattr(charts, name)
        draw(*recorded[0][0], **recorded[0][1])  # imports, font cache
        seconds = sum(cpu(functools.partial(draw, *a, **k), repeat) for a, k in recorded)
        size = sum(len(draw(*a, **k)) for a, k in recorded)
        out[name] = {"calls": len(recorded), "seconds": seconds, "bytes": size}
    return out


def measure_scores(work: Path, prepared: dict, scores: int) -> dict[str, dict]:
    from pipeline.config import load_config
    from pipeline.jobs.score import score

    out = {}
    for lang in ("en", "es"):
        totals, in_charts = [], []
        for i in range(scores + 1):
            seconds: list[float] = []
            started = time.process_time()
            with recording(None, seconds):
                score(work / "data", out=work / f"warm_{lang}", config=load_config(None), tracking_uri=prepared["uri"],
                      model_uri=prepared["model_uri"], lang=lang)
            if i:  # the first is the warm-up
                totals.append(time.process_time() - started)
                in_charts.append(sum(seconds))
        out[lang] = {"seconds": statistics.median(totals), "charts": statistics.median(in_charts)}
    return out


def table(now: dict, before: dict | None) -> list[str]:
    def cell(figures: dict | None, key: str, field: str, fmt: str) -> str:
        return format(figures[key][field], fmt) if figures and key in figures else "-"

    def change(key: str, field: str, section: str) -> str:
        if not before or key not in before[section]:
            return "-"
        return f"{now[section][key][field] / before[section][key][field] - 1:+.0%}"

    b_charts, b_scores = (before or {}).get("charts"), (before or {}).get("scores")
    lines = ["| chart | calls | before CPU s | after CPU s | change | before KiB | after KiB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, f in now["charts"].items():
        kib = format(b_charts[name]["bytes"] / 1024, ",.0f") if b_charts and name in b_charts else "-"
        lines.append(f"| {name} | {f['calls']} | {cell(b_charts, name, 'seconds', '.3f')} | {f['seconds']:.3f} | "
                     f"{change(name, 'seconds', 'charts')} | {kib} | {f['bytes'] / 1024:,.0f} |")
    lines += ["", "| warm score, 1 process | before CPU s | after CPU s | change | before charts s | after charts s |",
              "|---|---:|---:|---:|---:|---:|"]
    for lang, f in now["scores"].items():
        lines.append(f"| {lang} | {cell(b_scores, lang, 'seconds', '.2f')} | {f['seconds']:.2f} | "
                     f"{change(lang, 'seconds', 'scores')} | {cell(b_scores, lang, 'charts', '.2f')} | "
                     f"{f['charts']:.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1500)
    parser.add_argument("--repeat", type=int, default=7, help="draws of each chart call; the median is taken")
    parser.add_argument("--scores", type=int, default=5, help="warm scores per language; the median is taken")
    parser.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "_work" / "charts")
    parser.add_argument("--save", type=Path, help="keep these figures as JSON")
    parser.add_argument("--before", type=Path, help="figures saved by --save, shown beside these")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    work = args.work.resolve()
    prepared = prepare(work, args.clients)
    now = {"commit": commit(), "charts": measure_charts(prepared["calls"], args.repeat),
           "scores": measure_scores(work, prepared, args.scores)}
    if args.save:
        args.save.write_text(json.dumps(now, indent=1), encoding="utf-8")
    before = json.loads(args.before.read_text(encoding="utf-8")) if args.before else None
    command = " ".join(["benchmarks/bench_charts.py", *sys.argv[1:]])
    lines = [BEGIN, f"## Charts: CPU per chart and per warm score ({args.clients:,} clients)", "",
             f"Command: `.venv/bin/python {command}`  ",
             f"Machine: {machine()}  ",
             f"Commit: {now['commit']}" + (f" (before: {before['commit']})" if before else "") + "  ",
             f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; CPU seconds (time.process_time) in one "
             f"process, median of {args.repeat} draws per chart call (summed over a kind's calls in one English "
             f"score and one Spanish score, or one training) and of {args.scores} warm scores.", "",
             *table(now, before), END]
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
