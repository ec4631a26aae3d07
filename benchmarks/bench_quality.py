"""Quality benchmark: the registered model against simple baselines on the same out-of-time rows.

For every generator profile and seed: generate the data, train with the real training job (the
model registered in a sqlite MLflow store), then read the run's validation predictions, which
hold the model's and every baseline's probability on exactly the same rows: logistic regression
on the same features, LightGBM with defaults on plain per-type counts plus attributes, and the
recency rule. Figures per profile: ROC AUC, PR AUC and Brier (means over seeds), the strongest
baseline, the paired client-clustered bootstrap 95% interval of the model's ROC AUC minus it
(the mean over seeds, resampled within each seed), the model's ECE (10 equal-width bins) and, on
generated data, the model's ROC AUC as a share of the generator's own probability's. No timing:
this measures quality. The table goes to benchmarks/RESULTS.md between this benchmark's markers.

    .venv/bin/python benchmarks/bench_quality.py                       # every profile x 3 seeds
    .venv/bin/python benchmarks/bench_quality.py --smoke --no-write    # a minute: the suite runs this
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_pipeline import commit, emit, machine  # noqa: E402

from models.evaluation import expected_calibration_error  # noqa: E402
from models.metrics import classification_metrics, paired_bootstrap_auc_difference  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.jobs.train import train  # noqa: E402
from pipeline.synth.generator import generate  # noqa: E402

BEGIN, END = "<!-- bench_quality:begin -->", "<!-- bench_quality:end -->"
PROFILES = ("default", "snapshot", "sparse", "interactions")
BASELINE = "baseline: "


def empty_store(work: Path) -> Path:
    """An empty MLflow sqlite store, made once and copied for every (profile, seed): MLflow's
    migrations take seconds a store, the same each time."""
    template = work / "empty_store" / "mlflow.db"
    shutil.rmtree(template.parent, ignore_errors=True)
    template.parent.mkdir(parents=True)
    uri = f"sqlite:///{template}"
    mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
    return template


def run_one(profile: str, seed: int, clients: int, work: Path, config_file: Path | None = None,
            store: Path | None = None) -> dict:
    """Generate, train and grade one (profile, seed): the model's and the baselines' figures. The run's
    store is a copy of `store` (an empty one, `empty_store`) when given."""
    folder = work / f"{profile}_{seed}"
    shutil.rmtree(folder, ignore_errors=True)
    generate(folder / "data", n_clients=clients, seed=seed, profile=profile)
    if store is not None:
        shutil.copyfile(store, folder / "mlflow.db")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    result = train(folder / "data", config=load_config(config_file), tracking_uri=uri, out=folder / "train")
    mlflow.set_tracking_uri(uri)
    path = mlflow.artifacts.download_artifacts(run_id=result["run_id"], artifact_path="validation_predictions.parquet",
                                               dst_path=str(folder / "artifacts"))
    rows = pd.read_parquet(path)
    label = rows["label"].to_numpy()
    # the model's ranking in the deployed model's order; its calibration from the cross-fitted probabilities
    scores = {"model": rows["ranking_score"].to_numpy(),
              **{c[len(BASELINE):]: rows[c].to_numpy() for c in rows.columns if c.startswith(BASELINE)}}
    figures = {name: classification_metrics(label, p) for name, p in scores.items()}
    figures["model"]["brier"] = classification_metrics(label, rows["probability"].to_numpy())["brier"]
    strongest = max((n for n in figures if n != "model"), key=lambda n: figures[n]["roc_auc"])
    return {"profile": profile, "seed": seed, "rows": len(rows), "churners": int(label.sum()), "figures": figures,
            "strongest": strongest, "ece": expected_calibration_error(label, rows["probability"].to_numpy(), 10),
            "oracle_ratio": result["metrics"].get("model_to_oracle_auc_ratio", np.nan),
            "scores": scores, "label": label, "clients": rows["client_id"].to_numpy()}


def summarise(runs: list[dict], draws: int) -> dict:
    """Means over the seeds of one profile, and the bootstrap interval of the mean AUC difference."""
    names = list(runs[0]["figures"])
    mean = {n: {k: float(np.mean([r["figures"][n][k] for r in runs])) for k in ("roc_auc", "pr_auc", "brier")}
            for n in names}
    strongest = max((n for n in names if n != "model"), key=lambda n: mean[n]["roc_auc"])
    differences = np.mean([paired_bootstrap_auc_difference(r["label"], r["scores"]["model"], r["scores"][strongest],
                                                           r["clients"], draws=draws, seed=r["seed"]) for r in runs],
                          axis=0)
    return {"profile": runs[0]["profile"], "seeds": len(runs), "rows": int(np.mean([r["rows"] for r in runs])),
            "churners": int(np.mean([r["churners"] for r in runs])), "mean": mean, "strongest": strongest,
            "difference": mean["model"]["roc_auc"] - mean[strongest]["roc_auc"],
            "low": float(np.quantile(differences, 0.025)), "high": float(np.quantile(differences, 0.975)),
            "ece": float(np.mean([r["ece"] for r in runs])), "ece_max": float(np.max([r["ece"] for r in runs])),
            "oracle_ratio": float(np.nanmean([r["oracle_ratio"] for r in runs]))}


def table(summaries: list[dict]) -> list[str]:
    lines = ["| profile | valid rows (churners) | model ROC AUC | strongest baseline | its ROC AUC | difference "
             "[95% CI] | target met | model PR AUC / Brier | LR / plain-counts LightGBM ROC AUC | ECE (max) | "
             "model/oracle |", "|---|---:|---:|---|---:|---|---|---|---|---:|---:|"]
    for s in summaries:
        m = s["mean"]
        met = "yes" if s["difference"] > 0 and s["low"] > -0.005 and s["ece_max"] < 0.02 else "no"
        lr = m.get("logistic regression", {}).get("roc_auc", np.nan)
        plain = m.get("LightGBM on plain counts", {}).get("roc_auc", np.nan)
        lines.append(
            f"| {s['profile']} | {s['rows']:,} ({s['churners']:,}) | {m['model']['roc_auc']:.4f} | {s['strongest']} | "
            f"{m[s['strongest']]['roc_auc']:.4f} | {s['difference']:+.4f} [{s['low']:+.4f}, {s['high']:+.4f}] | "
            f"{met} | {m['model']['pr_auc']:.4f} / {m['model']['brier']:.4f} | {lr:.4f} / {plain:.4f} | "
            f"{s['ece']:.4f} ({s['ece_max']:.4f}) | {s['oracle_ratio']:.3f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--clients", type=int, default=15_000)
    parser.add_argument("--draws", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "_work" / "quality")
    parser.add_argument("--config", type=Path, default=None, help="a config file for training (default: defaults)")
    parser.add_argument("--smoke", action="store_true", help="400 clients, one seed, 50 resamples: a quick check")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    if args.smoke:
        # 400 clients: the least at which every profile still fits a model of its own (at 300 the snapshot
        # profile's 72 validation rows early-stop it at ROC AUC 0.5); a train's time is mostly fixed costs
        # (charts, MLflow), so fewer clients would save little anyway
        args.clients, args.seeds, args.draws = 400, "1", 50
    logging.basicConfig(level=logging.WARNING)
    profiles, seeds = args.profiles.split(","), [int(s) for s in args.seeds.split(",")]
    started, measured = time.perf_counter(), commit()  # the code measured is the code at the start
    summaries, store = [], empty_store(args.work)
    for profile in profiles:
        runs = [run_one(profile, seed, args.clients, args.work, args.config, store) for seed in seeds]
        summaries.append(summarise(runs, args.draws))
        print(table(summaries[-1:])[-1], flush=True)
    command = (f".venv/bin/python benchmarks/bench_quality.py --profiles {args.profiles} --seeds {args.seeds} "
               f"--clients {args.clients} --draws {args.draws}" + (f" --config {args.config}" if args.config else ""))
    lines = [BEGIN, f"## Quality against baselines, {args.clients:,} clients per run", "",
             f"Command: `{command}` (`make bench-quality`)  ", f"Machine: {machine()}  ", f"Commit: {measured}  ",
             f"Means over seeds {args.seeds}; every figure on the run's own out-of-time validation rows; "
             f"{(time.perf_counter() - started) / 60:.1f} min in all. Target: difference > 0 with the 95% lower "
             "bound above -0.005, and ECE below 0.02 on every seed.", "", *table(summaries), "", END]
    emit(BEGIN, END, "\n".join(lines), write=not args.no_write)


if __name__ == "__main__":
    main()
