"""Scale benchmark: partitioned scoring at 100k / 1M / 3M clients against DuckDB and LightGBM.

For each size it generates clients with about `--events-per-client` events each (the generator's
`activity_scale` knob; reused with --reuse), then:

- runs `churn score --capacity C --partition-clients P` as a fresh process `--runs` times: wall
  time, seconds per stage from `<out>/manifest.json`, peak RSS of the whole process tree
  (psutil polling, summed over the tree, and the largest single process from rusage);
- times one DuckDB SQL query computing the same event aggregations as `features/events.py` at
  the same as-of date over the same events.parquet (median of `--runs`);
- builds the same feature matrix in-process (`features.build_features`, no partitioning) and
  times the registered booster's own `predict` on it (median of `--runs`), up to
  `--compare-up-to` clients (the in-process matrix is not partitioned, so memory grows);
- on the smallest size, checks that the DuckDB query gives the same numbers as
  `features.events.build`, so the comparison is like for like.

A model is trained once with `churn train` on `--train-clients` generated the same way, into a
benchmark-local MLflow store under `--work`. Figures go to benchmarks/RESULTS.md between this
benchmark's markers, with the command and the machine.

    .venv/bin/python benchmarks/bench_scale.py --sizes 100000,1000000,3000000 --runs 3 \\
        --partition-clients 250000 --events-per-client 50 --work benchmarks/_work/scale --reuse
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- bench_scale:start -->", "<!-- bench_scale:end -->"

# The default generator (activity_scale 1.0) makes 22,367,944 events for 100,000 clients.
EVENTS_PER_CLIENT_AT_SCALE_1 = 223.68
TARGET_E2E_SECONDS = 300.0
TARGET_RSS_BYTES = 6e9  # "6 GB"
TARGET_FEATURES_RATIO = 1.0
TARGET_PREDICT_RATIO = 1.3
TARGET_SIZE = 1_000_000
FLAT_RSS_TOLERANCE = 0.20  # peak RSS within 20% across the sizes that fill a partition
STAGE_ORDER = ("split", "read", "load_model", "features", "predict", "drift", "monitoring", "explain", "list", "write")
MIB = 2**20


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------- measuring

def _tree_rss(proc) -> tuple[int, int]:
    """(sum of RSS over the process and its descendants, RSS of the largest one), in bytes."""
    import psutil

    total = largest = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    for member in members:
        try:
            rss = member.memory_info().rss
        except psutil.Error:
            continue
        total += rss
        largest = max(largest, rss)
    return total, largest


def measure(cmd: list[str], *, cwd: Path, env: dict[str, str], log_file: Path, interval: float = 0.05) -> dict:
    """Run `cmd` as a fresh process; wall seconds, exit code, stdout, and its peak memory.

    `peak_rss` is the larger of the tree's summed RSS (sampled every `interval` s; pages shared
    between forked workers count once per process, so it can overstate) and the largest single
    process's own peak from the kernel (rusage of the waited process and its reaped children).
    """
    import psutil

    started = time.perf_counter()
    with open(log_file, "ab") as err:
        err.write(f"\n$ {shlex.join(cmd)}\n".encode())
        err.flush()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err)
        watched = psutil.Process(proc.pid)
        peak = {"tree": 0, "single": 0}
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                tree, single = _tree_rss(watched)
                peak["tree"], peak["single"] = max(peak["tree"], tree), max(peak["single"], single)
                done.wait(interval)

        sampler = threading.Thread(target=poll, daemon=True)
        sampler.start()
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    kernel_peak = usage.ru_maxrss * 1024
    return {"seconds": seconds, "exit_code": proc.returncode, "stdout": out.decode(errors="replace"),
            "peak_rss": max(peak["tree"], kernel_peak), "peak_rss_tree_sampled": peak["tree"],
            "peak_rss_largest_process": max(peak["single"], kernel_peak)}


def last_json(stdout: str) -> dict:
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_helper(mode: str, args: list[str], *, work: Path, env: dict[str, str]) -> dict:
    """One of this script's own helper modes in a fresh process: its JSON plus its peak memory."""
    result = measure([sys.executable, str(Path(__file__).resolve()), mode, *args], cwd=work, env=env,
                     log_file=work / "bench.log")
    if result["exit_code"] != 0:
        raise SystemExit(f"{mode} failed (exit {result['exit_code']}); end of {work / 'bench.log'}:\n"
                         + tail(work / "bench.log"))
    payload = last_json(result["stdout"])
    payload["peak_rss"], payload["wall_s"] = result["peak_rss"], result["seconds"]
    return payload


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


# ---------------------------------------------------------------------------------------- helpers
# Each runs in its own process (so its memory neither lingers in nor is charged to another step)
# and prints one JSON object on its last line.

def helper_generate(out: str, clients: str, seed: str, scale: str) -> dict:
    from pipeline.synth.generator import generate

    started = time.perf_counter()
    rows = generate(Path(out), n_clients=int(clients), seed=int(seed), activity_scale=float(scale))
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}


def _sql_text(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _sql_name(value: str) -> str:
    return '"' + str(value).replace('"', '""') + '"'


def duckdb_query(data: Path, as_of: str, event_types: list[str], valued: list[str], channels: list[str],
                 windows: tuple[int, ...] = (7, 30, 90), trend: int = 30) -> str:
    """The aggregations of features/events.py (build) at `as_of`, as one SQL query, one row per active client.

    Column names follow the project's where they are generic; per type and channel they use the
    raw value (the project slugs it), which changes nothing in the work done.
    """
    import pandas as pd

    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    end_us = int(end.value // 1000)
    longest = max(windows)
    day_us = 86_400_000_000
    path = lambda name: _sql_text(str(data / f"{name}.parquet"))  # noqa: E731
    base = [f"count(*) FILTER (age < {w}) AS n_{w}" for w in sorted({*windows, trend, longest})]
    base.append(f"count(*) FILTER (age >= {trend} AND age < {2 * trend}) AS n_prev")
    for i, t in enumerate(event_types):
        is_t = f"event_type = {_sql_text(t)}"
        base += [f"count(*) FILTER (age < {w} AND {is_t}) AS t{i}_{w}" for w in sorted({*windows, trend})]
        base.append(f"count(*) FILTER (age >= {trend} AND age < {2 * trend} AND {is_t}) AS t{i}_prev")
    for t in valued:
        i = event_types.index(t)
        base += [f"coalesce(sum(value) FILTER (age < {w} AND event_type = {_sql_text(t)}), 0) AS v{i}_{w}"
                 for w in (trend, longest)]
    base += [f"count(*) FILTER (age < {longest} AND channel = {_sql_text(c)}) AS c{j}" for j, c in enumerate(channels)]
    base += [f"count(DISTINCT age) FILTER (age < {w}) AS active_days_{w}d" for w in (trend, longest)]
    base.append("min(age) AS days_since_last_event")

    def ratio(num: str, den: str) -> str:
        return f"CASE WHEN {den} > 0 THEN ({num}) / ({den}) END"

    out = []
    for i, t in enumerate(event_types):
        for w in windows:
            out.append(f"{_sql_name(f'{t}_count_{w}d')}: t{i}_{w}")
        out.append(f"{_sql_name(f'{t}_change_{trend}d_vs_previous_{trend}d')}: "
                   + ratio(f"t{i}_{trend} - t{i}_prev::DOUBLE", f"t{i}_prev"))
    for w in windows:
        out.append(f"{_sql_name(f'events_count_{w}d')}: n_{w}")
    for w in (trend, longest):
        for i, t in enumerate(event_types):
            out.append(f"{_sql_name(f'{t}_share_{w}d')}: " + ratio(f"t{i}_{w}::DOUBLE", f"n_{w}"))
    if longest > trend:
        k = trend / longest
        for i, t in enumerate(event_types):
            out.append(f"{_sql_name(f'{t}_{trend}d_vs_{longest}d_rate')}: "
                       + ratio(f"t{i}_{trend}::DOUBLE", f"t{i}_{longest} * {k!r}"))
        out.append(f"{_sql_name(f'events_{trend}d_vs_{longest}d_rate')}: "
                   + ratio(f"n_{trend}::DOUBLE", f"n_{longest} * {k!r}"))
    out.append(f"{_sql_name(f'events_change_{trend}d_vs_previous_{trend}d')}: "
               + ratio(f"n_{trend} - n_prev::DOUBLE", "n_prev"))
    out += [f"active_days_{w}d: active_days_{w}d" for w in (trend, longest)]
    out.append("days_since_last_event: days_since_last_event")
    for t in valued:
        i = event_types.index(t)
        out += [f"{_sql_name(f'{t}_value_sum_{w}d')}: v{i}_{w}" for w in (trend, longest)]
    for j, c in enumerate(channels):
        out.append(f"{_sql_name(f'channel_{c}_share_{longest}d')}: " + ratio(f"c{j}::DOUBLE", f"n_{longest}"))

    # clients without an event before the end get zero counts (the project's bincount) and
    # missing ratios and recency, like the project's rows_for_clients
    zero_filled = {*(f"t{i}_{w}" for i in range(len(event_types)) for w in windows), *(f"n_{w}" for w in windows),
                   *(f"active_days_{w}d" for w in (trend, longest)),
                   *(f"v{event_types.index(t)}_{w}" for t in valued for w in (trend, longest))}
    select = []
    for item in out:
        name, expr = item.split(": ", 1)
        if expr in zero_filled:
            expr = f"coalesce({expr}, 0)"
        select.append(f"{expr} AS {name}")
    return f"""
WITH ev AS (
    SELECT client_id, event_type, channel, value,
           ({end_us} - 1 - epoch_us("timestamp")) // {day_us} AS age
    FROM read_parquet({path('events')})
    WHERE "timestamp" < TIMESTAMPTZ '{end.strftime("%Y-%m-%d %H:%M:%S")}+00'
),
per_client AS (
    SELECT client_id,
        {(',' + chr(10) + '        ').join(base)}
    FROM ev
    GROUP BY client_id
),
active AS (
    SELECT client_id FROM read_parquet({path('clients')})
    WHERE signup_date < DATE '{end.date()}'
      AND client_id NOT IN (SELECT client_id FROM read_parquet({path('churn')}) WHERE churned_at < DATE '{end.date()}')
)
SELECT active.client_id,
    {(',' + chr(10) + '    ').join(select)}
FROM active LEFT JOIN per_client USING (client_id)
"""


def _duckdb_vocabulary(con, data: Path) -> tuple[list[str], list[str], list[str]]:
    """Event types, valued types and channels of the data (not timed; the project learns these at training)."""
    events = _sql_text(str(data / "events.parquet"))
    types = con.execute(f"SELECT event_type, count(value) > 0 FROM read_parquet({events}) "
                        f"WHERE event_type IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()
    channels = con.execute(f"SELECT channel FROM read_parquet({events}) WHERE channel IS NOT NULL "
                           f"GROUP BY 1 ORDER BY count(*) DESC, 1").fetchall()
    return [t for t, _ in types], [t for t, has in types if has], [c for (c,) in channels]


def helper_duckdb(data: str, as_of: str, runs: str, save: str = "") -> dict:
    import duckdb

    data_path = Path(data)
    con = duckdb.connect()
    types, valued, channels = _duckdb_vocabulary(con, data_path)
    sql = duckdb_query(data_path, as_of, types, valued, channels)
    times, shape = [], (0, 0)
    for _ in range(int(runs)):
        started = time.perf_counter()
        relation = con.sql(sql)
        # materialised as an Arrow table: fetch_arrow_table() before DuckDB 2, to_arrow_table() since
        result = relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.fetch_arrow_table()
        times.append(time.perf_counter() - started)
        shape = (result.num_rows, result.num_columns - 1)
        if save:
            import pyarrow.parquet as pq

            pq.write_table(result, save)
            save = ""
        del result
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    return {"seconds": times, "rows": shape[0], "columns": shape[1], "threads": int(threads),
            "event_types": types, "valued": valued, "channels": channels, "sql": sql}


def helper_inprocess(data: str, as_of: str, model_uri: str, runs: str, check: str = "") -> dict:
    """Read, build the unpartitioned feature matrix, time events.build and booster.predict on it."""
    import numpy as np
    import pandas as pd

    from features import build_features, cutoffs, events
    from pipeline.config import AppConfig
    from pipeline.data.contract import load_folder
    from pipeline.tracking import registry

    config = AppConfig()
    registry.configure(os.environ["MLFLOW_TRACKING_URI"])
    model = registry.load_model(model_uri)
    spec, booster = model.bundle.spec, model.bundle.booster
    started = time.perf_counter()
    tables = load_folder(Path(data), quarantine_dir=None, max_rejected_share=config.data.max_rejected_share,
                         require_churn=False).tables
    read_s = time.perf_counter() - started
    cutoff = pd.Timestamp(as_of)
    n = int(runs)

    known = cutoffs.as_of(tables, cutoff)
    known = known.replace(clients=tables.clients[cutoffs.active_mask(tables.clients, tables.churn, cutoff)])
    events_s = []
    for _ in range(n):
        started = time.perf_counter()
        event_features = events.build(known, cutoff, spec)
        events_s.append(time.perf_counter() - started)
    result: dict = {"read_s": read_s, "events_build_s": events_s}
    if check:
        result["check"] = _compare_with_duckdb(event_features, Path(check), spec)
    del event_features, known

    features_s = []
    for _ in range(n):
        started = time.perf_counter()
        features = build_features(tables, [cutoff], spec)
        features_s.append(time.perf_counter() - started)
    names = list(spec.feature_names)
    del tables
    matrix = features[names].to_numpy(dtype=np.float32)
    cores = os.cpu_count() or 1
    timings: dict[str, list[float]] = {"booster_all_cores_s": [], "booster_1_thread_s": [], "bundle_s": []}
    for _ in range(n):
        for key, call in (("booster_all_cores_s", lambda: booster.predict(matrix, num_threads=cores)),
                          ("booster_1_thread_s", lambda: booster.predict(matrix, num_threads=1)),
                          ("bundle_s", lambda: model.bundle.predict(features))):
            started = time.perf_counter()
            call()
            timings[key].append(time.perf_counter() - started)
    result.update({"build_features_s": features_s, "matrix_rows": int(matrix.shape[0]),
                   "matrix_columns": int(matrix.shape[1]), "cores": cores, **timings})
    return result


def _compare_with_duckdb(project: pd.DataFrame, duck_file: Path, spec) -> dict:  # noqa: F821
    """Largest difference per column between events.build and the DuckDB result (renamed to the project's slugs)."""
    import numpy as np
    import pandas as pd

    duck = pd.read_parquet(duck_file).set_index("client_id")
    duck.index = duck.index.astype(str)
    rename = {}
    for raw, name in zip(spec.event_types, spec.event_type_names):
        for column in duck.columns:
            if column.startswith(f"{raw}_"):
                rename[column] = name + column[len(raw):]
    for raw, name in zip(spec.channels, spec.channel_names):
        rename[f"channel_{raw}_share_90d"] = f"channel_{name}_share_90d"
    duck = duck.rename(columns=rename)
    project = project.copy()
    project.index = project.index.astype(str)
    common = [c for c in project.columns if c in duck.columns]
    missing_in_duck = [c for c in project.columns if c not in duck.columns]
    extra_in_duck = [c for c in duck.columns if c not in project.columns]
    same_rows = set(project.index) == set(duck.index)
    duck = duck.reindex(project.index)
    worst, worst_column, nan_mismatch = 0.0, "", 0
    for column in common:
        a = project[column].to_numpy(dtype=np.float64)
        b = duck[column].to_numpy(dtype=np.float64)
        nan_mismatch += int((np.isnan(a) != np.isnan(b)).sum())
        both = ~np.isnan(a) & ~np.isnan(b)
        if both.any():
            diff = float(np.max(np.abs(a[both] - b[both]) / np.maximum(1.0, np.abs(a[both]))))
            if diff > worst:
                worst, worst_column = diff, column
    return {"rows": int(len(project)), "same_clients": bool(same_rows), "columns_compared": len(common),
            "missing_in_duckdb": missing_in_duck, "extra_in_duckdb": extra_in_duck,
            "nan_mismatches": nan_mismatch, "max_relative_difference": worst, "worst_column": worst_column}


HELPERS = {"_generate": helper_generate, "_duckdb": helper_duckdb, "_inprocess": helper_inprocess}


# -------------------------------------------------------------------------------------- orchestration

def parse_sizes(text: str) -> list[int]:
    sizes = []
    for part in text.replace("_", "").split(","):
        part = part.strip().lower()
        if not part:
            continue
        factor = 1_000_000 if part.endswith("m") else 1_000 if part.endswith("k") else 1
        sizes.append(int(float(part.rstrip("mk")) * factor))
    if not sizes or min(sizes) < 1:
        raise SystemExit(f"--sizes: '{text}' holds no positive client count")
    return sorted(set(sizes))


def check_score_cli(env: dict[str, str], work: Path) -> None:
    """The benchmark needs hash-partitioned scoring; say so plainly when this checkout lacks it."""
    result = subprocess.run(cli("score", "--help"), cwd=work, env={**env, "COLUMNS": "200"},
                            capture_output=True, text=True)
    text = result.stdout + result.stderr
    lacking = [flag for flag in ("--partition-clients", "--capacity", "--model", "--json") if flag not in text]
    if result.returncode != 0 or lacking:
        raise SystemExit("`churn score` in this checkout lacks " + (", ".join(lacking) or "a working --help")
                         + ": this benchmark measures hash-partitioned scoring "
                           "(`churn score --capacity N --partition-clients N`); update the checkout first.")


def ensure_data(folder: Path, clients: int, seed: int, scale: float, reuse: bool, work: Path,
                env: dict[str, str]) -> dict:
    marker = folder / "bench_generate.json"
    wanted = {"clients": clients, "seed": seed, "activity_scale": scale}
    if reuse and marker.exists():
        saved = json.loads(marker.read_text())
        if all(saved.get(k) == v for k, v in wanted.items()):
            log(f"reusing {folder} ({saved['rows']['events']:,} events)")
            return saved
    shutil.rmtree(folder, ignore_errors=True)
    log(f"generating {clients:,} clients (activity_scale {scale:.4f}) -> {folder}")
    result = run_helper("_generate", [str(folder), str(clients), str(seed), repr(scale)], work=work, env=env)
    saved = {**wanted, "rows": result["rows"], "seconds": result["seconds"], "peak_rss": result["peak_rss"]}
    marker.write_text(json.dumps(saved, indent=2) + "\n")
    log(f"generated {result['rows']['events']:,} events in {result['seconds']:.1f} s, "
        f"peak RSS {result['peak_rss'] / MIB:,.0f} MiB")
    return saved


def ensure_model(args, scale: float, work: Path, env: dict[str, str]) -> dict:
    marker = work / "bench_model.json"
    wanted = {"train_clients": args.train_clients, "seed": args.seed, "activity_scale": scale,
              "tracking_uri": env["MLFLOW_TRACKING_URI"]}
    if args.reuse and marker.exists():
        saved = json.loads(marker.read_text())
        if all(saved.get(k) == v for k, v in wanted.items()):
            log(f"reusing model {saved['model_uri']}")
            return saved
    for stale in ("mlflow.db", "mlartifacts", "train"):
        path = work / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    data = work / f"train_data_{args.train_clients}"
    ensure_data(data, args.train_clients, args.seed, scale, args.reuse, work, env)
    log(f"training on {args.train_clients:,} clients (churn train) ...")
    result = measure(cli("train", "--data", str(data), "--out", str(work / "train"), "--json"), cwd=work, env=env,
                     log_file=work / "bench.log")
    if result["exit_code"] != 0:
        raise SystemExit(f"churn train failed (exit {result['exit_code']}); end of {work / 'bench.log'}:\n"
                         + tail(work / "bench.log"))
    trained = last_json(result["stdout"])
    saved = {**wanted, "model_uri": trained["model_uri"], "seconds": round(result["seconds"], 1),
             "metrics": {k: v for k, v in trained.get("metrics", {}).items() if k in ("roc_auc", "oracle_roc_auc")}}
    marker.write_text(json.dumps(saved, indent=2) + "\n")
    log(f"trained {saved['model_uri']} in {result['seconds']:.0f} s, "
        f"ROC AUC {saved['metrics'].get('roc_auc', math.nan):.3f}")
    return saved


def stage_seconds(timings: dict) -> dict[str, float]:
    """Seconds per stage; a stage reported per partition (a nested mapping or list) is summed."""
    def total(value) -> float:
        if isinstance(value, dict):
            return sum(total(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(total(v) for v in value)
        return float(value) if isinstance(value, (int, float)) else 0.0
    return {name: total(value) for name, value in timings.items()}


def score_once(data: Path, out: Path, args, model_uri: str, work: Path, env: dict[str, str]) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    cmd = cli("score", "--data", str(data), "--out", str(out), "--capacity", str(args.capacity),
              "--partition-clients", str(args.partition_clients), "--model", model_uri, "--json")
    if args.as_of:
        cmd[-1:-1] = ["--as-of", args.as_of]
    result = measure(cmd, cwd=work, env=env, log_file=work / "bench.log")
    manifest_file = out / "manifest.json"
    manifest = json.loads(manifest_file.read_text()) if manifest_file.exists() else {}
    if result["exit_code"] != 0:
        raise SystemExit(f"churn score failed (exit {result['exit_code']}"
                         + (", a gate stopped the list" if result["exit_code"] == 3 else "")
                         + f"): {manifest.get('error', '')}\nend of {work / 'bench.log'}:\n" + tail(work / "bench.log"))
    if not manifest:
        manifest = last_json(result["stdout"])
    if "timings_s" not in manifest:
        raise SystemExit(f"{manifest_file} holds no timings_s; cannot read the stages")
    stages = stage_seconds(manifest["timings_s"])
    unknown = sorted(set(stages) - set(STAGE_ORDER))
    if unknown:
        log(f"note: stage name(s) not in the expected list, reported as they are: {', '.join(unknown)}")
    events = ((manifest.get("inputs") or {}).get("events") or {}).get("rows_in")
    return {"wall_s": result["seconds"], "peak_rss": result["peak_rss"],
            "peak_rss_tree_sampled": result["peak_rss_tree_sampled"],
            "peak_rss_largest_process": result["peak_rss_largest_process"], "stages": stages,
            "clients_scored": manifest.get("clients_scored"), "clients_listed": manifest.get("clients_listed"),
            "events_in": events, "as_of": manifest.get("as_of")}


def median(values) -> float:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else math.nan


def bench_size(n: int, args, scale: float, model: dict, work: Path, env: dict[str, str], check: bool) -> dict:
    data = work / f"data_{n}"
    generated = ensure_data(data, n, args.seed, scale, args.reuse, work, env)
    load = os.getloadavg()
    runs = []
    for k in range(args.runs):
        log(f"{n:,} clients: score run {k + 1}/{args.runs} (partition {args.partition_clients:,}, "
            f"capacity {args.capacity:,}) ...")
        run = score_once(data, work / f"score_{n}", args, model["model_uri"], work, env)
        runs.append(run)
        order = sorted(run["stages"], key=lambda k: (STAGE_ORDER.index(k) if k in STAGE_ORDER else 99, k))
        log(f"  {run['wall_s']:.1f} s, peak RSS {run['peak_rss'] / MIB:,.0f} MiB; "
            + ", ".join(f"{k} {run['stages'][k]:.1f}" for k in order))
    as_of = runs[0]["as_of"]
    if not as_of:
        raise SystemExit("the score manifest holds no as_of; cannot align the DuckDB query")
    log(f"{n:,} clients: DuckDB query x{args.runs} as of {as_of} ...")
    duck_file = work / f"duckdb_{n}.parquet"
    duck = run_helper("_duckdb", [str(data), as_of, str(args.runs), str(duck_file) if check else ""], work=work,
                      env=env)
    (work / "duckdb_query.sql").write_text(duck["sql"].strip() + "\n")
    if runs[0]["clients_scored"] is not None and duck["rows"] != runs[0]["clients_scored"]:
        log(f"  note: DuckDB gives {duck['rows']:,} active clients, the scorer {runs[0]['clients_scored']:,}")
    log(f"  DuckDB {', '.join(f'{s:.2f}' for s in duck['seconds'])} s ({duck['rows']:,} rows x "
        f"{duck['columns']} columns, {duck['threads']} threads)")
    inproc = None
    if n <= args.compare_up_to:
        log(f"{n:,} clients: in-process features and LightGBM predict x{args.runs} ...")
        inproc = run_helper("_inprocess", [str(data), as_of, model["model_uri"], str(args.runs),
                                            str(duck_file) if check else ""], work=work, env=env)
        log(f"  events.build {median(inproc['events_build_s']):.2f} s, build_features "
            f"{median(inproc['build_features_s']):.2f} s, "
            f"booster.predict {median(inproc['booster_all_cores_s']):.3f} s "
            f"({inproc['cores']} threads) / {median(inproc['booster_1_thread_s']):.3f} s (1 thread)")
        if check and "check" in inproc:
            c = inproc["check"]
            log(f"  check DuckDB vs events.build: {c['columns_compared']} columns, same clients {c['same_clients']}, "
                f"max relative difference {c['max_relative_difference']:.2e} ({c['worst_column'] or '-'}), "
                f"NaN mismatches {c['nan_mismatches']}, missing in DuckDB {c['missing_in_duckdb']}")
    duck_file.unlink(missing_ok=True)
    shutil.rmtree(work / f"score_{n}", ignore_errors=True)
    return {"clients": n, "generated": generated, "runs": runs, "duckdb": duck, "inprocess": inproc,
            "loadavg_before": load}


# ---------------------------------------------------------------------------------------- report

def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("lightgbm", "pandas", "pyarrow", "numpy", "duckdb", "mlflow"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} (absent)")
    return ", ".join(parts)


def commit() -> str:
    """The commit measured, marked when the working tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" plus uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.machine()}{f' ({cpu})' if cpu else ''}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}; {versions()}")


def fmt_runs(values, fmt: str) -> str:
    return ", ".join(format(v, fmt) for v in values)


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.0f}%"


def summarise(size: dict) -> dict:
    """The figures the report and the targets need, from one size's raw results."""
    runs, duck, inproc = size["runs"], size["duckdb"], size["inprocess"]
    stage = lambda name: [r["stages"].get(name) for r in runs]  # noqa: E731
    events = runs[0]["events_in"] or size["generated"]["rows"]["events"]
    scored = runs[0]["clients_scored"] or 0
    features = median(stage("features"))
    front = median([sum(r["stages"].get(s, 0.0) for s in ("split", "read", "features")) for r in runs])
    duck_s = median(duck["seconds"])
    s = {"events": events, "scored": scored, "wall": median([r["wall_s"] for r in runs]),
         "rss": median([r["peak_rss"] for r in runs]), "features": features, "front": front, "duck": duck_s,
         "features_ratio": features / duck_s, "front_ratio": front / duck_s, "predict": median(stage("predict"))}
    if inproc:
        s["booster"] = median(inproc["booster_all_cores_s"])
        s["booster1"] = median(inproc["booster_1_thread_s"])
        s["predict_ratio"] = s["predict"] / s["booster"]
        s["predict_ratio1"] = s["predict"] / s["booster1"]
        s["events_build"] = median(inproc["events_build_s"])
        s["build_features"] = median(inproc["build_features_s"])
    return s


def size_section(size: dict, args) -> list[str]:
    runs, duck, inproc, gen = size["runs"], size["duckdb"], size["inprocess"], size["generated"]
    s = summarise(size)
    n = size["clients"]
    lines = [f"### {n:,} clients: {s['events']:,} events ({s['events'] / n:.1f} per client), "
             f"{s['scored']:,} scored, {runs[0]['clients_listed'] or 0:,} listed",
             "",
             f"Generated in {gen['seconds']:.0f} s, peak RSS {gen['peak_rss'] / MIB:,.0f} MiB. "
             f"Load average before the runs: {' / '.join(f'{x:.2f}' for x in size['loadavg_before'])}.",
             "", "| measure | median | runs |", "|---|---:|---|",
             f"| `churn score` wall s (whole command) | {s['wall']:.1f} | "
             f"{fmt_runs([r['wall_s'] for r in runs], '.1f')} |",
             f"| peak RSS MiB (process tree) | {s['rss'] / MIB:,.0f} | "
             f"{fmt_runs([r['peak_rss'] / MIB for r in runs], ',.0f')} |",
             f"| largest single process, peak RSS MiB | "
             f"{median([r['peak_rss_largest_process'] for r in runs]) / MIB:,.0f} | "
             f"{fmt_runs([r['peak_rss_largest_process'] / MIB for r in runs], ',.0f')} |"]
    names = [name for name in STAGE_ORDER if any(name in r["stages"] for r in runs)]
    names += sorted({name for r in runs for name in r["stages"]} - set(names))
    for name in names:
        values = [r["stages"].get(name, math.nan) for r in runs]
        lines.append(f"| stage `{name}` s | {median(values):.2f} | {fmt_runs(values, '.2f')} |")
    lines += [
        f"| events/s, `features` stage | {s['events'] / s['features']:,.0f} | |",
        f"| events/s, `split`+`read`+`features` | {s['events'] / s['front']:,.0f} | |",
        f"| events/s, whole command | {s['events'] / s['wall']:,.0f} | |",
        f"| clients/s, `features` stage | {s['scored'] / s['features']:,.0f} | |",
        f"| clients/s, whole command | {s['scored'] / s['wall']:,.0f} | |",
        f"| DuckDB query s ({duck['threads']} threads, {duck['rows']:,} rows x {duck['columns']} columns) | "
        f"{s['duck']:.2f} | {fmt_runs(duck['seconds'], '.2f')} |",
        f"| DuckDB helper process peak RSS MiB (incl. the Arrow result) | {duck['peak_rss'] / MIB:,.0f} | |",
        f"| ratio `features` / DuckDB (target <= {TARGET_FEATURES_RATIO}) | {s['features_ratio']:.2f} | |",
        f"| ratio `split`+`read`+`features` / DuckDB | {s['front_ratio']:.2f} | |",
    ]
    if inproc:
        lines += [
            f"| in-process `features.events.build` alone s (1 thread) | {s['events_build']:.2f} | "
            f"{fmt_runs(inproc['events_build_s'], '.2f')} |",
            f"| ratio `events.build` / DuckDB (same scope) | {s['events_build'] / s['duck']:.2f} | |",
            f"| in-process `build_features` s (all builders, unpartitioned) | {s['build_features']:.2f} | "
            f"{fmt_runs(inproc['build_features_s'], '.2f')} |",
            f"| LightGBM `booster.predict` s, {inproc['cores']} threads ({inproc['matrix_rows']:,} x "
            f"{inproc['matrix_columns']} float32) | {s['booster']:.3f} | "
            f"{fmt_runs(inproc['booster_all_cores_s'], '.3f')} |",
            f"| LightGBM `booster.predict` s, 1 thread | {s['booster1']:.3f} | "
            f"{fmt_runs(inproc['booster_1_thread_s'], '.3f')} |",
            f"| the project's `ModelBundle.predict` in-process s (same rows, unpartitioned) | "
            f"{median(inproc['bundle_s']):.3f} | {fmt_runs(inproc['bundle_s'], '.3f')} |",
            f"| in-process helper peak RSS MiB (whole folder read and featurised at once, unpartitioned) | "
            f"{inproc['peak_rss'] / MIB:,.0f} | |",
            f"| ratio `predict` stage / booster.predict, {inproc['cores']} threads "
            f"(target <= {TARGET_PREDICT_RATIO}) | "
            f"{s['predict_ratio']:.2f} | |",
            f"| ratio `predict` stage / booster.predict, 1 thread | {s['predict_ratio1']:.2f} | |",
        ]
    else:
        lines.append(f"| LightGBM predict comparison | not run | above --compare-up-to {args.compare_up_to:,} |")
    lines.append("")
    return lines


def targets_section(sizes: list[dict], args) -> list[str]:
    by_n = {s["clients"]: s for s in sizes}
    at = TARGET_SIZE if TARGET_SIZE in by_n else max(n for n, s in by_n.items() if s["inprocess"]) \
        if any(s["inprocess"] for s in sizes) else max(by_n)
    s = summarise(by_n[at])
    size = by_n[at]
    note = "" if at == TARGET_SIZE else f" (**not the target size**: {TARGET_SIZE:,} was not run; figures at {at:,})"
    lines = [f"### Targets, at {at:,} clients{note}", "", "| target | measured | verdict |", "|---|---:|---|"]

    def verdict(value: float, limit: float, lower_is_better: bool = True) -> str:
        if math.isnan(value):
            return "not measured"
        if value <= limit:
            return f"met ({(1 - value / limit) * 100:.0f}% margin)"
        return f"**missed** by {value - limit:.2f} ({(value / limit - 1) * 100:.0f}% over)"

    why: list[str] = []
    lines.append(f"| features no slower than DuckDB: `features` / DuckDB <= {TARGET_FEATURES_RATIO} | "
                 f"{s['features_ratio']:.2f} | {verdict(s['features_ratio'], TARGET_FEATURES_RATIO)} |")
    lines.append(f"| same, counting reading (`split`+`read`+`features`) / DuckDB (DuckDB reads the Parquet itself) | "
                 f"{s['front_ratio']:.2f} | {verdict(s['front_ratio'], TARGET_FEATURES_RATIO)} |")
    if s["features_ratio"] > TARGET_FEATURES_RATIO:
        extra = ""
        if "events_build" in s:
            extra = (f" On equal scope (events only, unpartitioned, in-process) `events.build` takes "
                     f"{s['events_build']:.2f} s, ratio {s['events_build'] / s['duck']:.2f}; the other builders "
                     f"(clients, surveys, tickets) and the cut at as-of add "
                     f"{max(s['build_features'] - s['events_build'], 0):.2f} s "
                     f"in-process.")
        why.append(f"- features vs DuckDB: DuckDB ran with {size['duckdb']['threads']} threads and reads only the "
                   f"columns it needs; the project's `features` stage covers every builder, per partition, on one "
                   f"thread (numpy).{extra}")
    if s["front_ratio"] > TARGET_FEATURES_RATIO:
        stages = {k: median([r["stages"].get(k) for r in size["runs"]]) for k in ("split", "read", "features")}
        # the split notes the latest day: each partition is read once (twice only if a set-aside row held it)
        twice = ""
        why.append(f"- reading included: `split` {stages['split'] or 0:.1f} s + "
                   f"`read` {stages['read'] or 0:.1f} s + "
                   f"`features` {stages['features'] or 0:.1f} s against DuckDB's {s['duck']:.1f} s; the project "
                   f"hash-partitions every table to disk, then reads and validates the contract of all five tables "
                   f"(ids, times, duplicates, quarantine) into pandas, where DuckDB scans three tables' columns "
                   f"straight from Parquet{twice}.")
    if "predict_ratio" in s:
        lines.append(f"| scoring at most {TARGET_PREDICT_RATIO}x LightGBM's predict: `predict` / booster.predict | "
                     f"{s['predict_ratio']:.2f} | {verdict(s['predict_ratio'], TARGET_PREDICT_RATIO)} |")
        if s["predict_ratio"] > TARGET_PREDICT_RATIO:
            why.append(f"- predict: LightGBM alone took {s['booster']:.3f} s on {size['inprocess']['cores']} threads "
                       f"and {s['booster1']:.3f} s on 1 thread, against which the stage is "
                       f"{s['predict_ratio1']:.2f}x (the project predicts with num_threads=1); "
                       f"the stage also aligns the columns by name, converts "
                       f"to float32 and applies the calibrator, once per partition.")
    else:
        lines.append("| scoring at most 1.3x LightGBM's predict | - | not measured at this size |")
    lines.append(f"| end to end under {TARGET_E2E_SECONDS:.0f} s "
                 f"(whole `churn score`, top {args.capacity:,} with reasons) | "
                 f"{s['wall']:.1f} s | {verdict(s['wall'], TARGET_E2E_SECONDS)} |")
    lines.append(f"| peak RSS under 6 GB ({TARGET_RSS_BYTES / MIB:,.0f} MiB) | {s['rss'] / MIB:,.0f} MiB | "
                 f"{verdict(s['rss'], TARGET_RSS_BYTES)} |")
    if s["wall"] > TARGET_E2E_SECONDS or s["rss"] > TARGET_RSS_BYTES:
        stages = {k: median([r["stages"].get(k) for r in size["runs"]]) for k in size["runs"][0]["stages"]}
        top = sorted(stages.items(), key=lambda kv: -kv[1])[:3]
        why.append("- end to end: the largest stages were " + ", ".join(
            f"`{k}` {v:.1f} s ({v / s['wall']:.0%})" for k, v in top) + ".")
    # flatness over the sizes whose data fills at least one partition
    full = [x for x in sizes if x["clients"] >= args.partition_clients]
    if len(full) >= 2:
        peaks = [(x["clients"], summarise(x)["rss"]) for x in full]
        low, high = min(p for _, p in peaks), max(p for _, p in peaks)
        growth = high / low - 1
        ok = growth <= FLAT_RSS_TOLERANCE
        lines.append(f"| peak RSS flat across sizes filling a partition ({', '.join(f'{n:,}' for n, _ in peaks)}): "
                     f"spread <= {FLAT_RSS_TOLERANCE:.0%} | "
                     f"{growth:+.0%} ({low / MIB:,.0f} to {high / MIB:,.0f} MiB) | "
                     + ("met" if ok else f"**missed** by {(growth - FLAT_RSS_TOLERANCE) * 100:.0f} points") + " |")
        if not ok:
            why.append("- RSS: some memory grows with the number of clients rather than the partition size "
                       "(see the stages and the per-size table).")
    lines.append("")
    if why:
        lines += ["Missed, and what the figures say about why (the script's own reading of them):",
                  "", *why, ""]
    return lines


def report(sizes: list[dict], args, scale: float, model: dict, command: str, started: datetime,
           elapsed: float) -> str:
    size_list = ", ".join(f"{s['clients']:,}" for s in sizes)
    lines = [BEGIN, f"## Scale: {size_list} clients, partitioned scoring against DuckDB and LightGBM", "",
             f"Command: `{command}`  ",
             f"Machine: {machine()}  ",
             f"Commit: {commit()}  ",
             f"Run: {started:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.0f} min in all; median of {args.runs} run(s) "
             f"(individual runs listed).", "",
             f"- Data: `pipeline.synth.generator.generate(activity_scale={scale:.4f}, seed={args.seed})`, about "
             f"{args.events_per_client:g} events per client (the default generator makes about "
             f"{EVENTS_PER_CLIENT_AT_SCALE_1:.0f}).",
             f"- Model: `{model['model_uri']}`, trained by `churn train` on {args.train_clients:,} clients generated "
             f"the same way (ROC AUC {model['metrics'].get('roc_auc', math.nan):.3f}), "
             f"in a store under the work folder.",
             f"- Scoring: `churn score --data DIR --out DIR --capacity {args.capacity} --partition-clients "
             f"{args.partition_clients}{f' --as-of {args.as_of}' if args.as_of else ''} --model URI --json`, "
             f"a fresh process per run; stages from its "
             f"`manifest.json`. Peak RSS is the whole process tree's, polled every 50 ms with psutil (summed; "
             f"pages shared by forked workers count once per process), or the largest process's own kernel peak "
             f"if higher.",
             "- DuckDB: one SQL query over the same `events.parquet` (plus clients and churn for the active set), "
             "the aggregations of `features/events.py` at the same as-of date (counts per type over 7/30/90 days, "
             "30-day change, shares, 30-vs-90-day rates, active days, days since the last event, value sums, channel "
             "shares), one row per active client, materialised as an Arrow table (`to_arrow_table()`, "
             "`fetch_arrow_table()` before DuckDB 2), DuckDB's default threads.",
             "- LightGBM: the registered booster's `predict` on the float32 matrix `features.build_features` "
             "builds in one process (unpartitioned), with all cores and with 1 thread.", ""]
    checks = [s for s in sizes if s["inprocess"] and "check" in s["inprocess"]]
    for s in checks:
        c = s["inprocess"]["check"]
        lines += [f"DuckDB query checked against `features.events.build` at {s['clients']:,} clients: "
                  f"{c['columns_compared']} columns, same clients: {'yes' if c['same_clients'] else 'no'}, "
                  f"largest relative difference {c['max_relative_difference']:.1e}, missing/NaN mismatches "
                  f"{c['nan_mismatches']}" + (f", columns the query lacks: {', '.join(c['missing_in_duckdb'])}"
                                             if c["missing_in_duckdb"] else "") + ".", ""]
    lines += targets_section(sizes, args)
    lines += ["### Peak RSS by size (same partition size)", "",
              f"| clients | events | partitions of {args.partition_clients:,} | peak RSS MiB (median) | runs | "
              f"`churn score` wall s | generation s | generation peak RSS MiB |",
              "|---:|---:|---:|---:|---|---:|---:|---:|"]
    for size in sizes:
        s = summarise(size)
        gen = size["generated"]
        lines.append(f"| {size['clients']:,} | {s['events']:,} | "
                     f"{math.ceil(size['clients'] / args.partition_clients)} | "
                     f"{s['rss'] / MIB:,.0f} | {fmt_runs([r['peak_rss'] / MIB for r in size['runs']], ',.0f')} | "
                     f"{s['wall']:.1f} | {gen['seconds']:.0f} | {gen['peak_rss'] / MIB:,.0f} |")
    lines.append("")
    for size in sizes:
        lines += size_section(size, args)
    lines.append(END)
    return "\n".join(lines)


def write_results(block: str) -> None:
    text = (RESULTS.read_text() if RESULTS.exists()
            else "# Benchmark results\n\n"
                 "Figures written by the scripts in this folder; each block names its command.\n")
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in HELPERS:
        result = HELPERS[sys.argv[1]](*sys.argv[2:])
        print(json.dumps(result, default=str))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,3000000",
                        help="client counts, comma separated (k/M allowed)")
    parser.add_argument("--runs", type=int, default=3, help="runs per measure; the median is reported")
    parser.add_argument("--partition-clients", type=int, default=250_000)
    parser.add_argument("--capacity", type=int, default=100_000, help="clients in the exported list (with reasons)")
    parser.add_argument("--events-per-client", type=float, default=50.0)
    parser.add_argument("--train-clients", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", help="pass --as-of to churn score (default: none, the scorer finds the latest "
                                        "day, which reads every partition once more)")
    parser.add_argument("--compare-up-to", type=int, default=1_000_000,
                        help="largest size for the in-process feature matrix and LightGBM predict "
                             "(memory grows with it)")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_work" / "scale")
    parser.add_argument("--reuse", action="store_true", help="reuse generated data and the trained model when present")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    if args.runs < 1 or args.partition_clients < 1 or args.capacity < 1 or args.events_per_client <= 0:
        parser.error("--runs, --partition-clients, --capacity and --events-per-client must be positive")
    sizes = parse_sizes(args.sizes)
    command = "benchmarks/bench_scale.py " + shlex.join(sys.argv[1:])
    command = f".venv/bin/python {command}" if ".venv" in sys.executable else f"python {command}"

    try:
        import duckdb  # noqa: F401
        import psutil  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"{exc.name} is missing: install the bench extra "
                         f"(pip install -e '.[bench]' or make bench-scale)") from exc
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    check_score_cli(env, work)
    started, clock = datetime.now(UTC), time.perf_counter()
    scale = round(args.events_per_client / EVENTS_PER_CLIENT_AT_SCALE_1, 4)
    log(f"sizes {', '.join(f'{n:,}' for n in sizes)}; {args.runs} run(s); partition {args.partition_clients:,}; "
        f"activity_scale {scale}; work {work}; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    model = ensure_model(args, scale, work, env)
    results = [bench_size(n, args, scale, model, work, env, check=(n == sizes[0])) for n in sizes]
    (work / "bench_scale_raw.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    block = report(results, args, scale, model, command, started, time.perf_counter() - clock)
    print(block)
    if not args.no_write:
        write_results(block)
        log(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
