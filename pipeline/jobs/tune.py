"""The job behind `churn tune`: search LightGBM parameters, log every trial, write a config.

Reads the data folder as `train` does, calls the pure search in `models.tuning`, and records it
in MLflow as one parent run (kind=tuning) holding one nested run per trial. The best parameters
are written into a full copy of the current config, a file `churn train --config` accepts.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import yaml

from models import tuning as search
from pipeline.config import AppConfig, load_config
from pipeline.data.totals import rows_summary
from pipeline.engines.local import LocalEngine
from pipeline.progress import Timer
from pipeline.publish.files import publish_file
from pipeline.tracking import registry
from pipeline.tracking.training_run import code_version

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 3


def tune(data: Path, *, config: AppConfig, tracking_uri: str, until: date | None = None, trials: int = 30,
         timeout: float | None = None, out_config: Path, out: Path = Path("churn_output/tune"),
         folds: int = DEFAULT_FOLDS) -> dict[str, Any]:
    """Tune on the rows `train` would fit, validating on each of the latest `folds` churn cutoffs.

    `timeout` (seconds) bounds the search, checked before each trial; the search seed is
    `config.training.seed`. Returns a JSON-able summary; `out_config` holds the tuned config.
    """
    timer = Timer()
    # the search holds its rows in memory: this process's engine, whatever the config says
    prepared = LocalEngine().prepare_training(data, config=config, until=until, out=Path(out), timer=timer)
    rows, spec, tc = prepared.rows, prepared.spec, config.training
    until_day = str(prepared.until.date())
    log.info("tuning on %d rows over %d cutoffs, %d features: %d trial(s)%s", len(rows), len(prepared.plan.cutoffs),
             len(spec.feature_names), trials, f" or {timeout:g} s" if timeout else "")

    registry.configure(tracking_uri)
    experiment_id = registry.ensure_experiment(config.registry.experiment, tracking_uri)

    with mlflow.start_run(experiment_id=experiment_id, run_name="tuning") as run:
        mlflow.set_tags({"kind": "tuning", "input_fingerprint": prepared.loaded.fingerprint, "until": until_day,
                         "code_version": code_version(), "data_folder": str(Path(data).resolve())})
        mlflow.log_params({"trials_requested": trials, "timeout_s": timeout, "seed": tc.seed, "n_folds": folds,
                           "horizon_days": tc.horizon_days, "training_rows": len(rows),
                           "n_features": len(spec.feature_names)})
        with timer("search"):
            result = search.tune(rows, spec, tc, n_trials=trials, timeout=timeout, seed=tc.seed,
                                 on_trial=_trial_logger(experiment_id), n_folds=folds)
        best = next(t for t in result.trials if t.number == result.best_number)
        tuned = config.model_copy(update={"training": search.with_params(tc, result.best_params)})
        config_path = _write_config(tuned, Path(out_config), run.info.run_id, result.best_value)
        kind = "rolling_origin" if result.out_of_time else "by_client"
        mlflow.log_params({**{f"best_lgbm_{k}": v for k, v in result.best_params.items()},
                           "fold_cutoffs": ",".join(result.fold_cutoffs), "validation_kind": kind})
        mlflow.log_metrics({"best_roc_auc": result.best_value, "trials_completed": _completed(result)}
                           | ({} if result.baseline_value is None else {"baseline_roc_auc": result.baseline_value}))
        mlflow.set_tag("best_trial", result.best_number)
        mlflow.log_artifact(str(config_path))
        registry.log_json([{"number": t.number, "params": t.params, **t.evaluation} for t in result.trials],
                          "trials.json")
    log.info("best of %d trial(s): mean ROC AUC %.4f (trial %d) -> %s", _completed(result), result.best_value,
             result.best_number, config_path)
    return _result(run.info.run_id, experiment_id, result, best, kind, trials, config_path, until_day, prepared,
                   timer, tracking_uri)

def _trial_logger(experiment_id: str):
    """Each trial as a nested run, and the parent's curve of mean ROC AUC per trial."""
    def log_trial(number: int, params: dict[str, Any], evaluation: dict[str, Any]) -> None:
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"trial-{number}", nested=True):
            mlflow.set_tags({"kind": "tuning_trial", "trial_number": number})
            mlflow.log_params({f"lgbm_{k}": v for k, v in params.items()})
            mlflow.log_metrics(_finite(_trial_metrics(evaluation)))
        if math.isfinite(evaluation["roc_auc"]):
            mlflow.log_metric("trial_roc_auc", evaluation["roc_auc"], step=number)  # the parent's curve
        log.info("trial %d: mean ROC AUC %.4f", number, evaluation["roc_auc"])
    return log_trial


def _result(run_id: str, experiment_id: str, result: search.TuningResult, best: search.TrialRecord, kind: str,
            trials: int, config_path: Path, until_day: str, prepared, timer: Timer, tracking_uri: str
            ) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "experiment_id": experiment_id,
        "best_params": result.best_params,
        "best_value": round(result.best_value, 6),
        "best_trial": result.best_number,
        "baseline_value": None if result.baseline_value is None else round(result.baseline_value, 6),
        "fold_roc_auc": {c: round(v, 6) for c, v in zip(result.fold_cutoffs, best.evaluation["fold_roc_auc"])},
        "best_iterations": dict(zip(result.fold_cutoffs, best.evaluation["best_iterations"])),
        "validation": {"kind": kind, "cutoffs": list(result.fold_cutoffs)},
        "trials_requested": trials,
        "trials_completed": _completed(result),
        "config_path": str(config_path),
        "until": until_day,
        "input_fingerprint": prepared.loaded.fingerprint,
        "notes": list(prepared.plan.notes),
        "rows": rows_summary(prepared.loaded),
        "timings_s": timer.stages,
        "tracking_uri": tracking_uri,
    }


def _trial_metrics(evaluation: dict[str, Any]) -> dict[str, float]:
    metrics = {"roc_auc": evaluation["roc_auc"], "pr_auc": evaluation["pr_auc"]}
    for cutoff, auc, iterations in zip(evaluation["cutoffs"], evaluation["fold_roc_auc"],
                                       evaluation["best_iterations"]):
        metrics[f"roc_auc_{cutoff}"] = auc
        metrics[f"best_iteration_{cutoff}"] = iterations
    return metrics


def _finite(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if math.isfinite(v)}


def _completed(result: search.TuningResult) -> int:
    return sum(math.isfinite(t.evaluation["roc_auc"]) for t in result.trials)


def _write_config(config: AppConfig, path: Path, run_id: str, value: float) -> Path:
    """The whole config as YAML, read back through load_config before anyone else can."""
    header = (f"# written by `churn tune` (MLflow run {run_id}): training.lightgbm holds the parameters with\n"
              f"# the best mean out-of-time ROC AUC ({value:.4f}); everything else is the config tuning ran with.\n")
    text = header + yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    publish_file(path, text.encode("utf-8"))
    if load_config(path) != config:
        raise RuntimeError(f"{path} does not read back as the config it was written from")
    return path
