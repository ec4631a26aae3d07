"""How close the model is to what the data allows: the label-trained model against learners told the answer.

The quality target compares the model with the generator's own probability (the "oracle", which sees
each client's hidden health). The oracle's ROC AUC is out of any model's reach: the data shows
health only through Poisson event counts, quarterly survey answers and a few tickets. This
benchmark measures how much of the distance is the learner's and how much is the data's, on the
same training and out-of-time rows the training job builds (default profile, `prepare_training`):

1. the model: `models.training.fit` on the labels, as `churn train` fits it (blend and calibration
   included; the refit on every cutoff left out, it does not change the validation figures);
2. a learner told the answer: LightGBM regression of the generator's log-odds (not the 0/1 labels)
   on the same features and training rows, scored on the validation rows. No label-trained model on
   these features can be expected to beat it;
3. the same, with the raw history the features summarise added: every event type's count in each
   30-day step back a year, the last five NPS answers with their ages, tickets opened in each
   30-day step. If the features left information in the data, this would find it.

    .venv/bin/python benchmarks/bench_ceiling.py                       # 100,000 clients, seeds 1, 2, 3
    .venv/bin/python benchmarks/bench_ceiling.py --smoke --no-write    # seconds: the suite runs this
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pipeline import commit, emit, machine  # noqa: E402

from features import categorical_features  # noqa: E402
from features.cutoffs import age_in_days, day_end  # noqa: E402
from models.training import fit  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.jobs.common import read_truth  # noqa: E402
from pipeline.jobs.train import prepare_training  # noqa: E402
from pipeline.synth.generator import generate  # noqa: E402

BEGIN, END = "<!-- bench_ceiling:begin -->", "<!-- bench_ceiling:end -->"
STEP_DAYS, STEPS, LAST_ANSWERS = 30, 12, 5
# the regression told the answer: a capacity measured not to matter (63 leaves x 1,500 rounds and
# 127 x 3,000 scored 0.0007 and 0.0011 lower on 30,000 clients)
REGRESSION = {"objective": "regression", "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 100,
              "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "verbosity": -1, "seed": 0,
              "deterministic": True, "force_row_wise": True}
ROUNDS = 600


def truth_log_odds(rows: pd.DataFrame, data: Path) -> np.ndarray:
    """The generator's log-odds of churn for each row (client, cutoff)."""
    truth = read_truth(data)
    if truth is None:
        raise SystemExit(f"{data} holds no truth.parquet: the ceiling needs generated data")
    truth = pd.DataFrame({"client_id": truth["client_id"].astype(str),
                          "cutoff": pd.to_datetime(truth["as_of"]).astype("datetime64[ns]"), "p": truth["p_true"]})
    keys = rows[["client_id", "cutoff"]].astype({"client_id": str, "cutoff": "datetime64[ns]"})
    p = keys.merge(truth, on=["client_id", "cutoff"], how="left")["p"].to_numpy()
    if np.isnan(p).any():
        raise SystemExit(f"{int(np.isnan(p).sum())} rows have no generator probability: is {data} generated data?")
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def _steps_back(times: pd.Series, cutoff: pd.Timestamp) -> np.ndarray:
    return np.minimum(age_in_days(times, cutoff) // STEP_DAYS, STEPS)


def raw_history(rows: pd.DataFrame, data: Path) -> pd.DataFrame:
    """Per row, what the data held at its cutoff, unsummarised: per-type event counts in each 30-day step
    back a year (and before), the last NPS answers with their ages, tickets opened per 30-day step."""
    events = pq.read_table(data / "events.parquet", columns=["client_id", "timestamp", "event_type"]).to_pandas()
    surveys = pd.read_parquet(data / "surveys.parquet", columns=["client_id", "answered_at", "score"])
    tickets = pd.read_parquet(data / "tickets.parquet", columns=["client_id", "opened_at"])
    for frame, column in ((events, "timestamp"), (surveys, "answered_at"), (tickets, "opened_at")):
        frame["at"] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None).astype("datetime64[ns]")
        frame["client_id"] = frame["client_id"].astype(str)
    surveys = surveys.sort_values("at")
    parts = []
    for cutoff in sorted(rows["cutoff"].unique()):
        cutoff, end = pd.Timestamp(cutoff), day_end(cutoff)
        known = events[events["at"] < end]
        counts = known.assign(step=_steps_back(known["at"], cutoff)).groupby(
            ["client_id", "step", "event_type"]).size().unstack(["step", "event_type"], fill_value=0)
        counts.columns = [f"raw_events_{t}_step{s}" for s, t in counts.columns]
        answers = surveys[surveys["at"] < end]
        answers = answers.assign(age=age_in_days(answers["at"], cutoff),
                                 k=answers.groupby("client_id").cumcount(ascending=False))
        answers = answers[answers["k"] < LAST_ANSWERS].pivot(index="client_id", columns="k",
                                                             values=["score", "age"])
        answers.columns = [f"raw_nps_{what}_{k}" for what, k in answers.columns]
        opened = tickets[tickets["at"] < end]
        per_step = opened.assign(step=_steps_back(opened["at"], cutoff)).groupby(["client_id", "step"]).size().unstack(
            fill_value=0)
        per_step.columns = [f"raw_tickets_step{s}" for s in per_step.columns]
        at_cutoff = rows.loc[rows["cutoff"] == cutoff, ["client_id", "cutoff"]]
        parts.append(at_cutoff.join(counts.join(answers, how="outer").join(per_step, how="outer"), on="client_id"))
    raw = pd.concat(parts).reindex(rows.index)
    filled = [c for c in raw.columns if c.startswith(("raw_events_", "raw_tickets_"))]
    raw[filled] = raw[filled].fillna(0)
    return raw.drop(columns=["client_id", "cutoff"])


def told_the_answer(matrix: pd.DataFrame, log_odds: np.ndarray, train: np.ndarray, valid: np.ndarray,
                    categorical: list[str]) -> np.ndarray:
    """LightGBM regression of the generator's log-odds on the training rows; its scores on the valid rows."""
    data = lgb.Dataset(matrix.loc[train].to_numpy(np.float32), log_odds[train], feature_name=list(matrix.columns),
                       categorical_feature=categorical)
    booster = lgb.train({**REGRESSION, "num_threads": os.cpu_count() or 1}, data, ROUNDS)
    return booster.predict(matrix.loc[valid].to_numpy(np.float32))


def measure(data: Path, work: Path, config_file: Path | None = None) -> dict:
    config = load_config(config_file)
    training = prepare_training(data, config=config, until=None, out=work / "prepare")
    rows, spec = training.rows.reset_index(drop=True), training.spec
    names, categorical = list(spec.feature_names), [c for c in categorical_features(spec) if c in spec.feature_names]
    started = time.perf_counter()
    result = fit(rows, spec, config.training.model_copy(update={"refit_on_all_cutoffs": False}))
    seconds = {"model": time.perf_counter() - started}
    train, valid = result.split.train, result.split.valid
    label, log_odds = rows.loc[valid, "label"].to_numpy(), truth_log_odds(rows, data)
    scores = {"model": result.valid_ranking}
    started = time.perf_counter()
    scores["told"] = told_the_answer(rows[names], log_odds, train, valid, categorical)
    seconds["told"] = time.perf_counter() - started
    started = time.perf_counter()
    with_raw = pd.concat([rows[names], raw_history(rows, data)], axis=1)
    scores["told_raw"] = told_the_answer(with_raw, log_odds, train, valid, categorical)
    seconds["told_raw"] = time.perf_counter() - started
    oracle = roc_auc_score(label, log_odds[valid])
    return {"rows": int(train.sum()), "valid": int(valid.sum()), "churners": int(label.sum()), "oracle": oracle,
            "features": len(names), "raw": with_raw.shape[1] - len(names), "seconds": seconds,
            "auc": {k: roc_auc_score(label, s) for k, s in scores.items()}}


def block(runs: dict[int, dict], command: str, measured: str, clients: int) -> str:
    """One row per seed and their mean: the model, both learners told the answer and the oracle."""
    def row(label: str, auc: dict[str, float], oracle: float) -> str:
        return (f"| {label} | {auc['model']:.4f} | {auc['told']:.4f} | {auc['told_raw']:.4f} | {oracle:.4f} | "
                f"**{auc['model'] / oracle:.4f}** | {auc['told'] / oracle:.4f} | {auc['told_raw'] / oracle:.4f} |")
    first = next(iter(runs.values()))
    lines = [BEGIN, f"## What the data allows: the model against learners told the answer ({clients:,} clients)", "",
             f"Command: `{command}` (`make bench-ceiling`)  ", f"Machine: {machine()}  ", f"Commit: {measured}  ",
             "Default profile; every figure on the run's own out-of-time rows. Columns: the model (fitted to the 0/1 "
             "labels, as `churn train` does); a learner told the answer (LightGBM regression of the generator's "
             f"log-odds on the same {first['features']} features and training rows); the same with the raw history "
             f"added ({first['raw']} columns: per-type event counts for each 30 days back a year, the last 5 NPS "
             "answers and their ages, tickets per 30 days); the oracle (the generator's own probability, which sees "
             "the hidden health).", "",
             "| seed (training rows; out-of-time rows, churners) | model | told the answer | told, raw history | "
             "oracle | model / oracle | told / oracle | told, raw / oracle |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for seed, m in runs.items():
        lines.append(row(f"{seed} ({m['rows']:,}; {m['valid']:,}, {m['churners']:,})", m["auc"], m["oracle"]))
    if len(runs) > 1:
        mean = {k: float(np.mean([m["auc"][k] for m in runs.values()])) for k in first["auc"]}
        lines.append(row("mean", mean, float(np.mean([m["oracle"] for m in runs.values()]))))
    gap = np.mean([m["auc"]["told"] - m["auc"]["model"] for m in runs.values()])
    raw = np.mean([m["auc"]["told_raw"] - m["auc"]["told"] for m in runs.values()])
    lines += ["", f"On average the model is {gap:+.4f} ROC AUC from the learner told the answer on its own features, "
              f"and the raw history moves that learner by {raw:+.4f}.", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_work" / "ceiling")
    parser.add_argument("--config", type=Path, help="a config file for training (default: defaults)")
    parser.add_argument("--smoke", action="store_true", help="1,000 clients, seed 1: a quick check")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.seeds = 1_000, "1"
    logging.basicConfig(level=logging.WARNING)
    measured, runs = commit(), {}
    for seed in (int(s) for s in args.seeds.split(",")):
        data = args.work / f"default_{args.clients}_{seed}"
        if not (data / "truth.parquet").is_file():  # the generator writes the same bytes for the same seed
            generate(data, n_clients=args.clients, seed=seed)
        runs[seed] = measure(data, args.work, args.config)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.4f}" for k, v in runs[seed]["auc"].items())
              + f", oracle {runs[seed]['oracle']:.4f}", flush=True)
    command = f".venv/bin/python benchmarks/bench_ceiling.py --clients {args.clients} --seeds {args.seeds}" + (
        f" --config {args.config}" if args.config else "")
    emit(BEGIN, END, block(runs, command, measured, args.clients), write=not args.no_write)


if __name__ == "__main__":
    main()
