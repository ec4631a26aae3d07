"""Local vs Dask benchmark: the same `churn train` and `churn score` on the local engine and on `--engine dask`.

On one generated data set for training (`--train-clients`) and one for scoring (`--clients`), both
with about `--events-per-client` events per client (the generator's `activity_scale`; reused with
--reuse), it runs, each `--runs` times as a fresh process, alternating the engines:

- `churn train --data D --json` and `churn train --data D --engine dask --json`: wall seconds, peak
  RSS of the whole process tree (the CLI, and with Dask the LocalCluster's worker processes it
  starts), validation ROC AUC, the best iteration (read back from the benchmark's MLflow store) and,
  for Dask, the number of trees grown (its log); the AUC difference against the issue's 0.01;
- `churn score --data D --model URI --capacity C --json` and the same with `--engine dask`, where URI
  is the model of the first local train (the champion of the benchmark's fresh MLflow store): wall
  seconds, peak RSS, clients/s, the stages from `<out>/manifest.json`; and whether `risk_list.csv`
  is byte-identical between the engines (and between runs);
- an empty LocalCluster started and stopped in its own process (what every `--engine dask` command
  without `--scheduler` pays before any work).

Figures go to benchmarks/RESULTS.md between this benchmark's markers, with the command, the machine
and a reading written from the measured figures; the raw figures to `<work>/bench_dask_raw.json`.
Measuring helpers (peak RSS of a process tree, data generation) come from bench_scale.py.

    .venv/bin/python benchmarks/bench_dask.py --clients 200000 --train-clients 50000 \\
        --events-per-client 50 --runs 3 --work benchmarks/_work/dask --reuse
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scale  # noqa: E402
from bench_scale import (  # noqa: E402
    EVENTS_PER_CLIENT_AT_SCALE_1,
    MIB,
    cli,
    ensure_data,
    last_json,
    log,
    measure,
    median,
    stage_seconds,
)

ROOT = bench_scale.ROOT
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- bench_dask:start -->", "<!-- bench_dask:end -->"
ENGINES = ("local", "dask")
QUIET_SHARE = 0.05  # a command during which other processes used more of the machine's CPU is flagged
AUC_TOLERANCE = 0.01  # the issue: the Dask model's validation ROC AUC within 0.01 of the local one
TRAIN_STAGES = ("read", "features", "fit", "reference", "evaluate", "mlflow")
SCORE_STAGES = bench_scale.STAGE_ORDER
DASK_FIT = re.compile(r"Dask fit: (\d+) rounds grown, validation loss best at (\d+)")


# ---------------------------------------------------------------------------------------- helpers
# Each runs in its own process and prints one JSON object on its last line.

def helper_cluster(workers: str, threads: str, memory_limit: str) -> dict:
    """Start and stop an empty LocalCluster as the engine starts one (processes, no dashboard)."""
    started = time.perf_counter()
    from distributed import Client, LocalCluster

    imported = time.perf_counter()
    cluster = LocalCluster(n_workers=int(workers), threads_per_worker=int(threads), processes=True,
                           memory_limit=memory_limit, dashboard_address=None)
    client = Client(cluster)
    client.wait_for_workers(int(workers))
    up = time.perf_counter()
    client.close()
    cluster.close()
    down = time.perf_counter()
    return {"import_s": imported - started, "start_s": up - imported, "stop_s": down - up}


def helper_config(path: str = "") -> dict:
    """The settings the CLI will use (defaults, then the benchmark's config file if any)."""
    from pipeline.config import load_config

    config = load_config(Path(path) if path else None)
    t, e, s = config.training, config.engine, config.scoring
    return {"max_boost_rounds": t.max_boost_rounds, "early_stopping_rounds": t.early_stopping_rounds,
            "refit_on_all_cutoffs": t.refit_on_all_cutoffs, "num_threads": t.lightgbm.num_threads,
            "workers": e.workers, "threads_per_worker": e.threads_per_worker, "memory_limit": e.memory_limit,
            "partition_clients": s.partition_clients}


HELPERS = {"_cluster": helper_cluster, "_config": helper_config}


# ------------------------------------------------------------------------------------------ running

class Failed(SystemExit):
    pass


def _stderr_since(log_file: Path, offset: int) -> str:
    with open(log_file, "rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def _busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    import psutil

    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _own_cpu_s(who: int) -> float:
    import resource

    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def measured(cmd: list[str], *, cwd: Path, env: dict[str, str], log_file: Path) -> dict:
    """bench_scale.measure, plus how much CPU other processes on the machine used meanwhile.

    `cpu_tree_s` is the command's CPU time with its reaped children (the Dask workers), from this
    process's RUSAGE_CHILDREN; `cpu_others_s` is the machine's busy CPU time over the same interval
    minus that and minus this process's own polling: what anything else running took."""
    import resource

    busy, children, me = _busy_cpu_s(), _own_cpu_s(resource.RUSAGE_CHILDREN), _own_cpu_s(resource.RUSAGE_SELF)
    result = measure(cmd, cwd=cwd, env=env, log_file=log_file)
    tree = _own_cpu_s(resource.RUSAGE_CHILDREN) - children
    others = _busy_cpu_s() - busy - tree - (_own_cpu_s(resource.RUSAGE_SELF) - me)
    return {**result, "cpu_tree_s": tree, "cpu_others_s": max(others, 0.0)}


def run_cli(argv: list[str], *, label: str, work: Path, env: dict[str, str]) -> tuple[dict, dict, str]:
    """One `churn` command as a fresh process: (measure's figures, its JSON, its stderr).

    On a non-zero exit, stops the benchmark with the exact command, the end of its stderr and the
    traceback the CLI leaves in churn-error.log."""
    log_file = work / "bench.log"
    offset = log_file.stat().st_size if log_file.exists() else 0
    error_log = work / "churn-error.log"
    error_log.unlink(missing_ok=True)
    cmd = cli(*argv)
    code_before = code_state()["fingerprint"]
    result = measured(cmd, cwd=work, env=env, log_file=log_file)
    result["code"] = [code_before, code_state()["fingerprint"]]  # the project's code at start and end
    stderr = _stderr_since(log_file, offset)
    if result["exit_code"] != 0:
        lines = [line for line in stderr.splitlines() if line.strip()][-20:]
        message = [f"{label} failed (exit {result['exit_code']}) after {result['seconds']:.0f} s.",
                   f"command (cwd {work}): MLFLOW_TRACKING_URI={env['MLFLOW_TRACKING_URI']} "
                   f"PYTHONPATH={env.get('PYTHONPATH', '')} {shlex.join(cmd)}",
                   "end of its stderr:", *lines]
        if error_log.exists():
            message += [f"traceback ({error_log}):", error_log.read_text(errors="replace").rstrip()]
        raise Failed("\n".join(message))
    payload = last_json(result["stdout"])
    if not payload:
        raise Failed(f"{label}: no JSON line on stdout from {shlex.join(cmd)}")
    return result, payload, stderr


def run_helper(mode: str, args: list[str], *, work: Path, env: dict[str, str]) -> dict:
    result = measured([sys.executable, str(Path(__file__).resolve()), mode, *args], cwd=work, env=env,
                     log_file=work / "bench.log")
    if result["exit_code"] != 0:
        raise Failed(f"{mode} failed (exit {result['exit_code']}); end of {work / 'bench.log'}:\n"
                     + bench_scale.tail(work / "bench.log", 15))
    payload = last_json(result["stdout"])
    payload.update(wall_s=result["seconds"], peak_rss=result["peak_rss"])
    return payload


def settings(config_file: Path | None, work: Path, env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_config",
                             str(config_file) if config_file else ""], cwd=work, env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise Failed(f"cannot load the project's config: {result.stderr.strip()[-2000:]}")
    return last_json(result.stdout)


def check_cli(env: dict[str, str], work: Path) -> None:
    """The benchmark needs `--engine` on train and score; say so plainly when this checkout lacks it."""
    for command, flags in (("train", ("--engine", "--json", "--out")),
                           ("score", ("--engine", "--model", "--capacity", "--json"))):
        result = subprocess.run(cli(command, "--help"), cwd=work, env={**env, "COLUMNS": "200"},
                                capture_output=True, text=True)
        text = result.stdout + result.stderr
        lacking = [flag for flag in flags if flag not in text]
        if result.returncode != 0 or lacking:
            raise Failed(f"`churn {command}` in this checkout lacks " + (", ".join(lacking) or "a working --help")
                         + ": this benchmark compares the local engine with `--engine dask`.")


def run_params(db: Path, run_id: str | None) -> dict[str, str]:
    """The MLflow run's logged parameters (best_iteration, training_rows, ...), read from the sqlite store."""
    if not run_id or not db.exists():
        return {}
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
            return dict(con.execute("SELECT key, value FROM params WHERE run_uuid = ?", (run_id,)).fetchall())
    except sqlite3.Error:
        return {}


def _int(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def train_once(engine: str, data: Path, work: Path, env: dict[str, str], config_file: Path | None) -> dict:
    out = work / f"train_{engine}"
    shutil.rmtree(out, ignore_errors=True)
    argv = ["train", "--data", str(data), "--out", str(out), "--json"]
    if engine == "dask":
        argv += ["--engine", "dask"]
    if config_file:
        argv += ["--config", str(config_file)]
    load = os.getloadavg()
    result, payload, stderr = run_cli(argv, label=f"churn train ({engine})", work=work, env=env)
    params = run_params(work / "mlflow.db", payload.get("run_id"))
    grown = DASK_FIT.findall(stderr)
    metrics = payload.get("metrics", {})
    if metrics.get("roc_auc") is None:
        raise Failed(f"churn train ({engine}) reported no validation roc_auc: {json.dumps(metrics)}")
    return {"engine": engine, "wall_s": result["seconds"], "peak_rss": result["peak_rss"],
            "peak_rss_tree_sampled": result["peak_rss_tree_sampled"],
            "peak_rss_largest_process": result["peak_rss_largest_process"],
            "cpu_tree_s": result["cpu_tree_s"], "cpu_others_s": result["cpu_others_s"], "code": result["code"],
            "roc_auc": metrics.get("roc_auc"), "metrics": metrics, "model_uri": payload.get("model_uri"),
            "model_version": payload.get("model_version"), "alias": payload.get("alias"),
            "champion_decision": payload.get("champion_decision"), "run_id": payload.get("run_id"),
            "stages": stage_seconds(payload.get("timings_s") or {}),
            "best_iteration": _int(params.get("best_iteration")), "training_rows": _int(params.get("training_rows")),
            "n_features": _int(params.get("n_features")), "engine_logged": params.get("engine"),
            "rounds_grown": int(grown[-1][0]) if grown else None,
            "best_from_curve": int(grown[-1][1]) if grown else None, "loadavg_before": load}


def score_once(engine: str, k: int, data: Path, model_uri: str, args, work: Path, env: dict[str, str],
               config_file: Path | None) -> dict:
    out = work / f"score_{engine}"
    shutil.rmtree(out, ignore_errors=True)  # a fresh folder: no previous list, so no previous ranks
    argv = ["score", "--data", str(data), "--out", str(out), "--model", model_uri, "--capacity", str(args.capacity),
            "--json"]
    if args.partition_clients:
        argv += ["--partition-clients", str(args.partition_clients)]
    if args.as_of:
        argv += ["--as-of", args.as_of]
    if engine == "dask":
        argv += ["--engine", "dask"]
    if config_file:
        argv += ["--config", str(config_file)]
    load = os.getloadavg()
    result, payload, _ = run_cli(argv, label=f"churn score ({engine})", work=work, env=env)
    manifest_file = out / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    timings = manifest.get("timings_s") or payload.get("timings_s") or {}
    csv = Path((payload.get("outputs") or {}).get("csv") or out / "risk_list.csv")
    if not csv.exists():
        raise Failed(f"churn score ({engine}) reported no risk_list.csv ({csv})")
    content = csv.read_bytes()
    if k == 0:  # kept for the comparison between engines
        (work / f"risk_list_{engine}.csv").write_bytes(content)
    return {"engine": engine, "wall_s": result["seconds"], "peak_rss": result["peak_rss"],
            "peak_rss_tree_sampled": result["peak_rss_tree_sampled"],
            "peak_rss_largest_process": result["peak_rss_largest_process"],
            "cpu_tree_s": result["cpu_tree_s"], "cpu_others_s": result["cpu_others_s"], "code": result["code"],
            "stages": stage_seconds(timings), "stages_from": "manifest.json" if manifest.get("timings_s") else "stdout",
            "clients_scored": payload.get("clients_scored"), "clients_listed": payload.get("clients_listed"),
            "partitions": payload.get("partitions"), "engine_reported": payload.get("engine"),
            "as_of": manifest.get("as_of") or payload.get("as_of"),
            "csv_sha256": hashlib.sha256(content).hexdigest(), "csv_bytes": len(content),
            "csv_lines": content.count(b"\n"), "loadavg_before": load}


def compare_lists(a: Path, b: Path) -> dict:
    """Where two risk_list.csv files differ (only called when their bytes differ)."""
    la, lb = a.read_bytes().splitlines(), b.read_bytes().splitlines()
    differing = [i for i, (x, y) in enumerate(zip(la, lb)) if x != y]
    out: dict = {"lines": [len(la), len(lb)], "differing_lines": len(differing) + abs(len(la) - len(lb))}
    if differing:
        i = differing[0]
        out.update(first_line=i + 1, local=la[i].decode(errors="replace")[:300],
                   dask=lb[i].decode(errors="replace")[:300])
    try:
        import pandas as pd

        fa, fb = pd.read_csv(a, dtype={"client_id": str}), pd.read_csv(b, dtype={"client_id": str})
        out["same_columns"] = list(fa.columns) == list(fb.columns)
        if "client_id" in fa and "client_id" in fb:
            out["same_clients"] = set(fa["client_id"]) == set(fb["client_id"])
            out["same_order"] = fa["client_id"].tolist() == fb["client_id"].tolist()
            joined = fa.merge(fb, on="client_id", suffixes=("_local", "_dask"))
            out["columns_differing"] = [c for c in fa.columns if c != "client_id" and c in fb.columns
                                        and not joined[f"{c}_local"].equals(joined[f"{c}_dask"])]
            if "churn_probability" in fa and "churn_probability" in fb and len(joined):
                diff = (joined["churn_probability_local"] - joined["churn_probability_dask"]).abs()
                out["max_probability_difference"] = float(diff.max())
    except Exception as exc:  # noqa: BLE001 - a detail of the report, not worth stopping for
        out["pandas_error"] = f"{type(exc).__name__}: {exc}"
    return out


def identity(scores: dict[str, list[dict]], work: Path) -> dict:
    hashes = {e: [r["csv_sha256"] for r in scores[e]] for e in ENGINES}
    within = {e: len(set(h)) == 1 for e, h in hashes.items()}
    identical = hashes["local"][0] == hashes["dask"][0]
    everywhere = len(set(hashes["local"]) | set(hashes["dask"])) == 1
    out = {"identical": identical, "all_runs_identical": everywhere, "within_engine": within, "sha256": hashes,
           "bytes": scores["local"][0]["csv_bytes"], "lines": scores["local"][0]["csv_lines"]}
    if not identical:
        out["difference"] = compare_lists(work / "risk_list_local.csv", work / "risk_list_dask.csv")
    return out


CODE_PATHS = ("pipeline", "features", "models", "configs", "pyproject.toml")


def code_state() -> dict:
    """The commit, the uncommitted changes, and a fingerprint of the project's code as it is on disk
    (its files' contents, committed or not: another hand may be editing or committing meanwhile)."""
    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return result.stdout if result.returncode == 0 else ""

    changed = sorted(line[3:] for line in git("status", "--porcelain", "--untracked-files=all", "--",
                                               *CODE_PATHS).splitlines() if line.strip())
    files = sorted(set(git("ls-files", "--cached", "--others", "--exclude-standard", "--", *CODE_PATHS).split("\n"))
                   - {""})
    digest, hashes = hashlib.sha256(), {}
    for name in files:
        path = ROOT / name
        if path.is_file():
            content = hashlib.sha256(path.read_bytes()).digest()
            hashes[name] = content.hex()[:12]
            digest.update(name.encode() + b"\0" + content)
    return {"commit": git("rev-parse", "--short", "HEAD").strip() or "unknown", "changed": changed,
            "fingerprint": digest.hexdigest()[:12], "files": hashes}


# ---------------------------------------------------------------------------------------- report

def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("dask", "distributed", "lightgbm", "pandas", "pyarrow", "numpy", "mlflow"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} (absent)")
    return ", ".join(parts)


def summarise(runs: list[dict]) -> dict:
    walls = [r["wall_s"] for r in runs]
    stages = sorted({name for r in runs for name in r["stages"]})
    return {"wall": median(walls), "wall_min": min(walls), "wall_max": max(walls),
            "rss": median([r["peak_rss"] for r in runs]),
            "rss_largest": median([r["peak_rss_largest_process"] for r in runs]),
            "stages": {name: median([r["stages"].get(name) for r in runs]) for name in stages}}


def _stage(s: dict, *names: str) -> float:
    return sum(s["stages"].get(n, 0.0) or 0.0 for n in names)


def _times(a: float, b: float) -> str:
    """'2.3x slower' / '1.4x faster' / 'as fast' for a against b."""
    if not (a > 0 and b > 0):
        return "n/a"
    if abs(a / b - 1) < 0.03:
        return "about as fast"
    return f"{a / b:.2f}x the time" if a > b else f"{b / a:.2f}x faster"


def reading(r: dict) -> list[str]:
    """The short reading of the figures, every number from this run."""
    tl, td, sl, sd = r["train"]["local"]["summary"], r["train"]["dask"]["summary"], \
        r["score"]["local"]["summary"], r["score"]["dask"]["summary"]
    cfg, cluster, auc, ident = r["config"], r["cluster"], r["auc"], r["identity"]
    w, t, cores = cfg["workers"], cfg["threads_per_worker"], r["cores"]
    local_train, dask_train = r["train"]["local"]["runs"], r["train"]["dask"]["runs"]
    out = []

    load = other_load(r)
    if load.get("flagged"):
        out.append(f"**Caution.** Other processes took more than {QUIET_SHARE:.0%} of the machine's CPU during "
                   f"{len(load['flagged'])} of the {load['commands']} measured commands "
                   f"(up to {load['worst_share']:.0%}, in {load['worst']}): those wall times and the medians "
                   f"they enter are inflated by that load, not by the engine. "
                   f"Rerun on a quiet machine before reading much into small differences.")

    # training
    text = (f"**Train.** Dask took {td['wall']:.1f} s against {tl['wall']:.1f} s locally "
            f"({_times(td['wall'], tl['wall'])}), "
            f"peak RSS {td['rss'] / MIB:,.0f} MiB against {tl['rss'] / MIB:,.0f} MiB for the process tree.")
    grown = [x["rounds_grown"] for x in dask_train if x["rounds_grown"]]
    best_d = [x["best_iteration"] for x in dask_train if x["best_iteration"]]
    best_l = [x["best_iteration"] for x in local_train if x["best_iteration"]]
    if grown and best_d and best_l:
        g, limit = int(median(grown)), cfg["max_boost_rounds"]
        extent = f"all {limit} of `max_boost_rounds`" if g >= limit else f"{g} trees (of at most {limit})"
        refit = "then refit that many trees on every cutoff" if cfg["refit_on_all_cutoffs"] else "and kept them"
        text += (f" LightGBM's Dask estimator has no early stopping: the engine grew {extent} while recording the "
                 f"validation loss, picked round {int(median(best_d))} from that curve by early stopping's rule "
                 f"({cfg['early_stopping_rounds']} rounds patience) and {refit}; the local fit, early-stopped, kept "
                 f"{int(median(best_l))}. The `fit` stage was {td['stages'].get('fit', math.nan):.1f} s on Dask "
                 f"against {tl['stages'].get('fit', math.nan):.1f} s locally.")
    text += (f" Validation ROC AUC {auc['dask']:.4f} (Dask) against {auc['local']:.4f} (local): "
             f"{auc['difference']:+.4f}, largest difference between any two runs {auc['largest']:.4f}, "
             + ("within" if auc["met"] else "**outside**") + f" the issue's {AUC_TOLERANCE}.")
    distinct = {e: len({(x["roc_auc"], x["best_iteration"]) for x in runs})
                for e, runs in (("local", local_train), ("dask", dask_train))}
    if len(dask_train) > 1 and distinct["dask"] > 1:
        its = ", ".join(str(x["best_iteration"]) for x in dask_train)
        aucs = ", ".join(format(x["roc_auc"], ".4f") for x in dask_train)
        text += (f" The Dask fit was not repeatable: {distinct['dask']} different models in {len(dask_train)} runs "
                 f"(best iteration {its}; ROC AUC {aucs})"
                 + (", where every local run gave the same model." if distinct["local"] == 1 else
                    f"; the local fit gave {distinct['local']}."))
    if auc["largest"] > 0:
        text += (" The Dask fit uses the local fit's split rule and LightGBM parameters (`models/distributed.py`); "
                 "LightGBM's distributed training bins and splits on rows spread over the workers, so its trees "
                 "need not match the local ones exactly.")
    out.append(text)

    # scoring
    post = [n for n in set(sd["stages"]) | set(sl["stages"]) if n not in ("split", "read", "features", "predict")]
    n_local, n_dask = r["score"]["local"]["runs"][0]["partitions"], r["score"]["dask"]["runs"][0]["partitions"]
    text = (f"**Score.** Dask took {sd['wall']:.1f} s against {sl['wall']:.1f} s locally "
            f"({_times(sd['wall'], sl['wall'])}): "
            f"{r['score']['dask']['clients_per_s']:,.0f} against "
            f"{r['score']['local']['clients_per_s']:,.0f} clients/s, "
            f"peak RSS {sd['rss'] / MIB:,.0f} against {sl['rss'] / MIB:,.0f} MiB. "
            f"Reading and checking the tables (`split`+`read`) took {_stage(sd, 'split', 'read'):.1f} s on Dask "
            f"({n_dask} partitions, shuffled between {w} worker processes) against {_stage(sl, 'split', 'read'):.1f} s "
            f"locally ({n_local} partition{'s' if n_local != 1 else ''}); features and the model took "
            f"{_stage(sd, 'features', 'predict'):.1f} s against {_stage(sl, 'features', 'predict'):.1f} s (on Dask the "
            f"`features` stage also scores and writes the partitioned list and features as Parquet). The other "
            f"stages run in the CLI process on both engines (" + ", ".join(f"`{n}`" for n in sorted(post))
            + f": {_stage(sd, *post):.1f} s on Dask, {_stage(sl, *post):.1f} s locally).")
    out.append(text)

    # why
    text = (f"**Why.** Every `--engine dask` command without `--scheduler` starts its own LocalCluster of {w} worker "
            f"process{'es' if w != 1 else ''} x {t} thread{'s' if t != 1 else ''}: an empty one took "
            f"{cluster['start_s']:.1f} s to start and {cluster['stop_s']:.1f} s to stop "
            f"({cluster['peak_rss'] / MIB:,.0f} MiB for its process tree) before any work. On this {cores}-core "
            f"machine those workers share the cores the local engine has to itself, so Dask adds work rather than "
            f"capacity: process start-up, the shuffle of every table into client partitions, and serializing "
            f"partitions, features and results between processes (on Dask `read` includes the shuffle). ")
    def merged(st: dict, job: str) -> dict:
        """Stages to compare; in scoring, Dask's `features` also predicts, so `features`+`predict` together."""
        st = dict(st)
        if job == "score":
            st["features+predict"] = (st.pop("features", 0.0) or 0.0) + (st.pop("predict", 0.0) or 0.0)
        return st

    for job, (a, b) in (("train", (td, tl)), ("score", (sd, sl))):
        sa, sb = merged(a["stages"], job), merged(b["stages"], job)
        diffs = {n: (sa.get(n) or 0.0) - (sb.get(n) or 0.0) for n in set(sa) | set(sb)}
        up = sorted(((n, d) for n, d in diffs.items() if d >= 0.05), key=lambda nd: -nd[1])
        down = sorted(((n, d) for n, d in diffs.items() if d <= -0.05), key=lambda nd: nd[1])
        parts = []
        if up:
            parts.append(f"{sum(d for _, d in up):.1f} s more in " + ", ".join(f"`{n}` (+{d:.1f})" for n, d in up[:3]))
        if down:
            parts.append(f"{-sum(d for _, d in down):.1f} s less in "
                         + ", ".join(f"`{n}` ({d:.1f})" for n, d in down[:3]))
        text += (f"`{job}` ({_times(a['wall'], b['wall'])} on Dask)"
                 + (f": its stages took {' and '.join(parts)}" if parts else "") + ". ")
        if job == "train" and any(n == "evaluate" for n, _ in up + down) and best_d and best_l \
                and int(median(best_d)) != int(median(best_l)):
            text += (f"(`evaluate` runs in the CLI process on both engines, on the final model: {int(median(best_d))} "
                     f"trees from Dask against {int(median(best_l))} locally.) ")
    text += ("Dask's point is running the same job, with the same checks and builders, across machines "
             "(`--scheduler tcp://...`) when the data outgrows one; on one machine these figures show its overhead, "
             "not a speed-up. The tree's peak RSS sums the CLI process and every worker (pages shared between "
             "processes count once per process).")
    out.append(text)

    if ident["identical"]:
        out.append(f"**Same list.** `risk_list.csv` ({ident['lines']:,} lines) was byte-identical between the engines"
                   + (" and across all runs." if ident["all_runs_identical"] else
                      " in the first run of each; not every run matched (see the hashes in the raw figures)."))
    else:
        d = ident.get("difference", {})
        out.append(f"**Lists differ.** `risk_list.csv` was **not** byte-identical between the engines: "
                   f"{d.get('differing_lines', '?')} differing line(s) of {d.get('lines', ['?'])[0]}; columns "
                   f"differing: {', '.join(d.get('columns_differing', [])) or 'none by value'}; largest probability "
                   f"difference {d.get('max_probability_difference', math.nan):.2e}.")
    return out


def other_load(r: dict) -> dict:
    """CPU other processes used while the measured commands ran, in all and per command."""
    cores = r["cores"] or 1
    runs = [(job, engine, k + 1, x) for job in ("train", "score") for engine in ENGINES
            for k, x in enumerate(r[job][engine]["runs"]) if x.get("cpu_others_s") is not None]
    if not runs:
        return {}
    total = sum(x["cpu_others_s"] for *_, x in runs)
    capacity = sum(x["wall_s"] for *_, x in runs) * cores
    shares = [(x["cpu_others_s"] / (x["wall_s"] * cores), job, engine, k, x) for job, engine, k, x in runs]
    worst = max(shares, key=lambda t: t[0])
    flagged = [(job, engine, k) for share, job, engine, k, _ in shares if share > QUIET_SHARE]
    return {"total_s": total, "share": total / capacity, "worst_share": worst[0],
            "worst": f"{worst[1]} {worst[2]} run {worst[3]}", "worst_s": worst[4]["cpu_others_s"],
            "flagged": flagged, "commands": len(runs)}


def code_line(code: dict, r: dict | None = None) -> str:
    line = f"Code: commit {code['commit']}"
    if code["changed"]:
        line += f" plus uncommitted changes to {', '.join(f'`{c}`' for c in code['changed'])}"
    line += f" (content fingerprint {code['fingerprint']})"
    after = code.get("after") or {}
    if code["changed_during_run"]:
        files = code.get("files_changed_during_run") or []
        line += (f"; **the code changed while the benchmark ran** (fingerprint {after.get('fingerprint')} at the end, "
                 f"commit {after.get('commit')}" + (f"; files: {', '.join(f'`{f}`' for f in files)}" if files else "")
                 + "), so runs may have measured different code")
        if r is not None:
            seen = [f"{job} {engine} run {k + 1}" for job in ("train", "score") for engine in ENGINES
                    for k, x in enumerate(r[job][engine]["runs"])
                    if x.get("code") and set(x["code"]) != {code["fingerprint"]}]
            if seen:
                line += f"; commands that saw other code than at the start: {', '.join(seen)}"
    elif after.get("commit") and after["commit"] != code["commit"]:
        line += f"; committed unchanged as {after['commit']} during the run"
    return line + "."


def report(r: dict, args, command: str) -> str:
    cfg, gen = r["config"], r["generated"]
    tl, td, sl, sd = r["train"]["local"]["summary"], r["train"]["dask"]["summary"], \
        r["score"]["local"]["summary"], r["score"]["dask"]["summary"]
    lt, dt = r["train"]["local"]["runs"], r["train"]["dask"]["runs"]
    ls, ds = r["score"]["local"]["runs"], r["score"]["dask"]["runs"]
    auc, ident, cluster = r["auc"], r["identity"], r["cluster"]
    rows = f"{lt[0]['training_rows']:,}" if lt[0]["training_rows"] else "?"
    scored = ls[0]["clients_scored"] or 0
    lines = [BEGIN, f"## Local vs Dask: train on {args.train_clients:,} clients, score {args.clients:,} clients", "",
             f"Command: `{command}`  ",
             f"Machine: {r['machine']}  ",
             f"Run: {r['started']} UTC, {r['elapsed_s'] / 60:.0f} min in all; median of {args.runs} run(s), "
             f"min / max shown; the engines alternate run by run, each command a fresh process.  ",
             code_line(r["code"], r), "",
             f"- Data: `pipeline.synth.generator.generate(activity_scale={r['scale']:.4f}, seed={args.seed})`: "
             f"training set {args.train_clients:,} clients ({gen['train']['rows']['events']:,} events), "
             f"scoring set {args.clients:,} "
             f"clients ({gen['score']['rows']['events']:,} events), about {args.events_per_client:g} per client.",
             f"- Dask: `--engine dask` without `--scheduler`, so each command starts a `distributed.LocalCluster` of "
             f"{cfg['workers']} worker process(es) x {cfg['threads_per_worker']} thread(s) (memory limit "
             f"{cfg['memory_limit']}); an empty one, started and stopped in its own process, took "
             f"{cluster['start_s']:.1f} s + {cluster['stop_s']:.1f} s ({cluster['wall_s']:.1f} s with Python start-up "
             f"and imports), peak RSS {cluster['peak_rss'] / MIB:,.0f} MiB.",
             "- Train: `churn train --data DIR --out DIR --json [--engine dask]`"
             + (f" `--config` {r['config_overrides']}" if r["config_overrides"] else "")
             + f", {rows} training rows, max_boost_rounds {cfg['max_boost_rounds']}, early stopping "
             f"{cfg['early_stopping_rounds']} rounds; a fresh benchmark MLflow store (sqlite) under the work folder: "
             f"the first local train is version 1 (champion), every later train also compares itself with the "
             f"champion (inside its `mlflow` stage).",
             f"- Score: `churn score --data DIR --out DIR --model {r['model_uri']} --capacity {args.capacity}"
             + (f" --partition-clients {args.partition_clients}" if args.partition_clients else "")
             + (f" --as-of {args.as_of}" if args.as_of else "")
             + " --json [--engine dask]`, the first local train's model, a fresh output folder per run; stages "
             "from `<out>/manifest.json`.",
             "- Peak RSS: the whole process tree (the CLI and the Dask workers it starts), polled every 50 ms with "
             "psutil and summed, or the largest process's own kernel peak if higher.", "",
             "| engine | job | median wall s | min / max s | peak RSS MiB (median) | largest process MiB | "
             "ROC AUC / clients/s |", "|---|---|---:|---|---:|---:|---|"]

    def row(engine: str, job: str, s: dict, last: str) -> str:
        return (f"| {engine} | {job} | {s['wall']:.1f} | {s['wall_min']:.1f} / {s['wall_max']:.1f} | "
                f"{s['rss'] / MIB:,.0f} | {s['rss_largest'] / MIB:,.0f} | {last} |")

    def aucs(runs: list[dict]) -> str:
        return f"ROC AUC {median([x['roc_auc'] for x in runs]):.4f} (" + ", ".join(
            f"{x['roc_auc']:.4f}" for x in runs) + ")"

    def best(runs: list[dict]) -> str:
        its = [x["best_iteration"] for x in runs if x["best_iteration"]]
        grown = [x["rounds_grown"] for x in runs if x["rounds_grown"]]
        shown = (f"{int(median(its))}" + (f" ({', '.join(map(str, its))})" if len(set(its)) > 1 else "")) if its else ""
        return (f"; {int(median(grown))} trees grown" if grown else "") + (f", best iteration {shown}" if its else "")

    lines += [
        row("local", f"train ({args.train_clients:,} clients)", tl, aucs(lt) + best(lt)),
        row("dask", f"train ({args.train_clients:,} clients)", td, aucs(dt) + best(dt)),
        row("local", f"score ({args.clients:,} clients, {ls[0]['partitions']} partition(s))", sl,
            f"{r['score']['local']['clients_per_s']:,.0f} clients/s"),
        row("dask", f"score ({args.clients:,} clients, {ds[0]['partitions']} partition(s))", sd,
            f"{r['score']['dask']['clients_per_s']:,.0f} clients/s"),
        "",
        f"ROC AUC, Dask minus local (medians): {auc['difference']:+.4f}; largest difference between any local and "
        f"any Dask run: {auc['largest']:.4f}. The issue asks for the Dask model within {AUC_TOLERANCE}: "
        + ("**met**." if auc["met"] else "**missed**."),
        "",
        f"Clients scored: {scored:,} ({ls[0]['clients_listed'] or 0:,} listed) as of {ls[0]['as_of']}; clients/s = "
        f"clients scored / median wall of the whole command.",
        ""]
    load = other_load(r)
    if load:
        lines += [f"Other load: while the {load['commands']} measured commands ran, "
                  f"other processes on the machine used "
                  f"{load['total_s']:.1f} CPU-seconds ({load['share']:.1%} of its {r['cores']} cores over that time; "
                  f"most in {load['worst']}: {load['worst_s']:.1f} s, {load['worst_share']:.0%})"
                  + (f"; **not a quiet machine**: {len(load['flagged'])} command(s) above {QUIET_SHARE:.0%} ("
                     + ", ".join(f"{j} {e} run {k}" for j, e, k in load["flagged"]) + "), their figures are inflated."
                     if load["flagged"] else "."), ""]
    if ident["identical"]:
        lines.append(f"Identity: `risk_list.csv` **byte-identical** between the local and the Dask engine "
                     f"(sha256 `{ident['sha256']['local'][0][:16]}...`, {ident['bytes']:,} bytes, {ident['lines']:,} "
                     f"lines)" + ("; the same in every run of both engines." if ident["all_runs_identical"] else
                                  "; but not every run gave the same file: " + json.dumps(ident["sha256"])))
    else:
        d = ident.get("difference", {})
        lines.append(f"Identity: `risk_list.csv` **differs** between the engines: {json.dumps(d, default=str)}")

    def cell(s: dict, name: str) -> str:
        value = s["stages"].get(name)
        return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"

    for job, order, (a, b) in (("train", TRAIN_STAGES, (tl, td)), ("score", SCORE_STAGES, (sl, sd))):
        names = [n for n in order if n in a["stages"] or n in b["stages"]]
        names += sorted((set(a["stages"]) | set(b["stages"])) - set(names))
        lines += ["", f"### `churn {job}` stages, median seconds (from its JSON / manifest)", "",
                  "| stage | local | Dask |", "|---|---:|---:|"]
        lines += [f"| `{n}` | {cell(a, n)} | {cell(b, n)} |" for n in names]
        lines.append(f"| whole command (wall) | {a['wall']:.2f} | {b['wall']:.2f} |")
    lines += ["", "### Reading", "", *("\n\n".join(reading(r)).splitlines()), "", END]
    return "\n".join(lines)


def write_results(block: str) -> None:
    """Replace this benchmark's block between its markers; append the block when they are absent."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text and text.index(BEGIN) < text.index(END):
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


# ---------------------------------------------------------------------------------------- main

def command_line() -> str:
    """The command as run: the worktree's .venv relative to the repository, any other interpreter in full."""
    exe = Path(sys.executable)
    args = "benchmarks/bench_dask.py " + shlex.join(sys.argv[1:])
    if exe.is_relative_to(ROOT):
        return f"{exe.relative_to(ROOT)} {args}"
    prefix = f"PYTHONPATH={os.environ['PYTHONPATH']} " if os.environ.get("PYTHONPATH") else ""
    return f"{prefix}{exe} {args}"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in HELPERS:
        print(json.dumps(HELPERS[sys.argv[1]](*sys.argv[2:]), default=str))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200_000, help="clients in the scoring data set")
    parser.add_argument("--train-clients", type=int, default=50_000, help="clients in the training data set")
    parser.add_argument("--events-per-client", type=float, default=50.0,
                        help="about this many events per client (the generator's activity scale)")
    parser.add_argument("--runs", type=int, default=3, help="runs per engine and job; the median is reported")
    parser.add_argument("--capacity", type=int, default=10_000, help="clients in the exported list (with reasons)")
    parser.add_argument("--partition-clients", type=int, help="pass --partition-clients to churn score "
                                                                 "(default: the project's config)")
    parser.add_argument("--as-of", help="pass --as-of to churn score (default: the latest day in the data)")
    parser.add_argument("--max-boost-rounds", type=int, help="training.max_boost_rounds for both engines "
                                                              "(default: the project's config)")
    parser.add_argument("--workers", type=int,
                        help="engine.workers of the LocalCluster (default: the project's config)")
    parser.add_argument("--threads-per-worker", type=int,
                        help="engine.threads_per_worker of the LocalCluster (default: the project's config)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_work" / "dask")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse generated data when present (same size, seed, scale)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    parser.add_argument("--from-raw", action="store_true",
                        help="run nothing: write the report again from <work>/bench_dask_raw.json (its own figures, "
                             "command and sizes)")
    args = parser.parse_args()
    if args.from_raw:
        raw = args.work.resolve() / "bench_dask_raw.json"
        if not raw.exists():
            parser.error(f"--from-raw: {raw} does not exist")
        results = json.loads(raw.read_text())
        if "args" not in results or "command" not in results:
            parser.error(f"--from-raw: {raw} holds no args/command (written by an older version of this script)")
        block = report(results, argparse.Namespace(**results["args"]), results["command"])
        print(block)
        if not args.no_write:
            write_results(block)
            log(f"written to {RESULTS}")
        return
    for name in ("clients", "train_clients", "runs", "capacity", "partition_clients", "max_boost_rounds", "workers",
                 "threads_per_worker"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive")
    if args.events_per_client <= 0:
        parser.error("--events-per-client must be positive")
    try:
        import psutil  # noqa: F401
    except ImportError:
        raise SystemExit(
            "psutil is missing: install the bench extra (pip install -e '.[bench]' or make bench-dask)") from None

    command = command_line()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        run(args, work, env, command)
    except Failed as exc:
        log("stopped")
        raise SystemExit(str(exc)) from None


def run(args, work: Path, env: dict[str, str], command: str) -> None:
    check_cli(env, work)
    overrides: dict = {}
    if args.max_boost_rounds:
        overrides.setdefault("training", {})["max_boost_rounds"] = args.max_boost_rounds
    if args.workers:
        overrides.setdefault("engine", {})["workers"] = args.workers
    if args.threads_per_worker:
        overrides.setdefault("engine", {})["threads_per_worker"] = args.threads_per_worker
    config_file = None
    if overrides:  # JSON is YAML: the same file for both engines
        config_file = work / "bench_dask_config.yaml"
        config_file.write_text(json.dumps(overrides, indent=2) + "\n")
    cfg = settings(config_file, work, env)

    code_before = code_state()
    started, clock = datetime.now(UTC), time.perf_counter()
    scale = round(args.events_per_client / EVENTS_PER_CLIENT_AT_SCALE_1, 4)
    log(f"train {args.train_clients:,} / score {args.clients:,} clients; {args.runs} run(s); activity_scale {scale}; "
        f"LocalCluster {cfg['workers']} x {cfg['threads_per_worker']}; work {work}; load average "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg()))
    for stale in ("mlflow.db", "mlruns", "mlartifacts"):  # a fresh store: version 1 is the first local train
        path = work / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)

    train_data, score_data = work / f"data_{args.train_clients}", work / f"data_{args.clients}"
    generated = {"train": ensure_data(train_data, args.train_clients, args.seed, scale, args.reuse, work, env)}
    generated["score"] = generated["train"] if score_data == train_data else \
        ensure_data(score_data, args.clients, args.seed, scale, args.reuse, work, env)

    log(f"empty LocalCluster start/stop x{args.runs} ...")
    clusters = [run_helper("_cluster", [str(cfg["workers"]), str(cfg["threads_per_worker"]), str(cfg["memory_limit"])],
                           work=work, env=env) for _ in range(args.runs)]
    cluster = {k: median([c[k] for c in clusters]) for k in ("import_s", "start_s", "stop_s", "wall_s", "peak_rss")}
    log(f"  start {cluster['start_s']:.1f} s, stop {cluster['stop_s']:.1f} s, "
        f"peak RSS {cluster['peak_rss'] / MIB:,.0f} MiB")

    trains: dict[str, list[dict]] = {e: [] for e in ENGINES}
    for k in range(args.runs):
        for engine in ENGINES:
            log(f"train {engine} run {k + 1}/{args.runs} ...")
            x = train_once(engine, train_data, work, env, config_file)
            trains[engine].append(x)
            log(f"  {x['wall_s']:.1f} s, peak RSS {x['peak_rss'] / MIB:,.0f} MiB, ROC AUC {x['roc_auc']}, "
                f"best iteration {x['best_iteration']}" + (f", {x['rounds_grown']} grown" if x["rounds_grown"] else "")
                + f", {x['model_uri']} ({x['alias']}); "
                + ", ".join(f"{n} {v:.1f}" for n, v in x["stages"].items()))
            if x["engine_logged"] and x["engine_logged"] != engine:
                log(f"  note: the run logged engine={x['engine_logged']}")
    model_uri = trains["local"][0]["model_uri"]
    if not model_uri:
        raise Failed("the first local train reported no model_uri")

    scores: dict[str, list[dict]] = {e: [] for e in ENGINES}
    for k in range(args.runs):
        for engine in ENGINES:
            log(f"score {engine} run {k + 1}/{args.runs} ({model_uri}, capacity {args.capacity:,}) ...")
            x = score_once(engine, k, score_data, model_uri, args, work, env, config_file)
            scores[engine].append(x)
            log(f"  {x['wall_s']:.1f} s, peak RSS {x['peak_rss'] / MIB:,.0f} MiB, {x['clients_scored']:,} scored, "
                f"{x['partitions']} partition(s), engine {x['engine_reported']}, csv {x['csv_sha256'][:12]}; "
                + ", ".join(f"{n} {v:.1f}" for n, v in x["stages"].items()))
            if x["engine_reported"] not in (None, engine):
                raise Failed(f"churn score --engine {engine} reported engine {x['engine_reported']}")
    for engine in ENGINES:
        shutil.rmtree(work / f"score_{engine}", ignore_errors=True)

    results: dict = {"command": command,
                     "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                     "started": f"{started:%Y-%m-%d %H:%M}", "machine": "", "cores": os.cpu_count(), "scale": scale,
                     "config": cfg, "config_overrides": json.dumps(overrides) if overrides else "",
                     "generated": generated, "cluster": {**cluster, "runs": clusters}, "model_uri": model_uri,
                     "train": {}, "score": {}}
    bench_scale.versions = versions  # machine() names the versions of this benchmark's packages
    results["machine"] = bench_scale.machine()
    for engine in ENGINES:
        results["train"][engine] = {"runs": trains[engine], "summary": summarise(trains[engine])}
        s = summarise(scores[engine])
        results["score"][engine] = {"runs": scores[engine], "summary": s,
                                    "clients_per_s": (scores[engine][0]["clients_scored"] or 0) / s["wall"]}
    local_auc = [x["roc_auc"] for x in trains["local"]]
    dask_auc = [x["roc_auc"] for x in trains["dask"]]
    largest = max(abs(d - loc) for d in dask_auc for loc in local_auc)
    results["auc"] = {"local": median(local_auc), "dask": median(dask_auc),
                      "difference": median(dask_auc) - median(local_auc), "largest": largest,
                      "met": largest <= AUC_TOLERANCE}
    results["identity"] = identity(scores, work)
    results["elapsed_s"] = time.perf_counter() - clock
    code_after = code_state()
    changed = code_after["fingerprint"] != code_before["fingerprint"]
    before_files, after_files = code_before["files"], code_after["files"]
    results["code"] = {**code_before, "changed_during_run": changed, "after": code_after,
                       "files_changed_during_run": sorted(n for n in set(before_files) | set(after_files)
                                                          if before_files.get(n) != after_files.get(n))}
    if changed:
        log("note: the project's code changed while the benchmark ran (see the report)")
    (work / "bench_dask_raw.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    log(f"AUC local {results['auc']['local']:.4f}, dask {results['auc']['dask']:.4f} "
        f"(largest difference {largest:.4f}); risk_list.csv identical: {results['identity']['identical']} "
        f"(all runs: {results['identity']['all_runs_identical']})")
    block = report(results, args, command)
    print(block)
    if not args.no_write:
        write_results(block)
        log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
