"""Hyper-parameter search for LightGBM with rolling-origin, out-of-time validation.

Each candidate is scored the way the model will be used: fitted on the cutoffs before T and
judged on the clients at T, for several T in turn. Rows never move across time at random.

Pure: frames in, parameters and scores out. No files, no MLflow, no clock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
import pandas as pd

from features.spec import FeatureSpec
from models.config import LightGBMParams, TrainingConfig
from models.linear import choose_weight
from models.metrics import classification_metrics
from models.training import lightgbm_dataset, lightgbm_params, linear_part, split_rows, validation_window

log = logging.getLogger(__name__)

Fold = tuple[np.ndarray, np.ndarray]  # boolean masks over the rows: (train, valid)
# the search space: bounds of the numeric parameters (how each is sampled is in suggest_params)
RANGES: dict[str, tuple[float, float]] = {
    "learning_rate": (0.01, 0.2),
    "num_leaves": (4, 128),
    "min_child_samples": (10, 500),
    "feature_fraction": (0.4, 1.0),
    "bagging_fraction": (0.5, 1.0),
    "lambda_l2": (1e-3, 30.0),
}
MAX_BIN_CHOICES = (63, 127, 255)
TUNED_PARAMS = (*RANGES, "max_bin")


def rolling_origin_folds(rows: pd.DataFrame, n_folds: int, config: TrainingConfig | None = None) -> list[Fold]:
    """One fold per recent cutoff T holding churners: train on cutoffs whose labels are known at T.

    The latest `n_folds` such cutoffs validate, each leaving an earlier churn cutoff to train on.
    With churners in fewer than two cutoffs no fold can be out of time, so (as `fit` does) a
    share of clients chosen by client validates instead; `config` sets that share and its seed.
    """
    if n_folds < 1:
        raise ValueError(f"n_folds must be at least 1, got {n_folds}")
    config = config or TrainingConfig()
    per_cutoff = rows.groupby("cutoff")["label"].sum()
    window = validation_window(per_cutoff.to_dict(), n_folds)
    if not window:
        split = split_rows(rows, config)
        log.warning(split.note)
        return [(split.train, split.valid)]
    cutoff = rows["cutoff"]
    # as in models.training.split_rows: a training label's window must close by the fold's cutoff
    horizon = pd.Timedelta(days=config.horizon_days)
    folds = []
    for t in window:
        train = (cutoff + horizon <= t).to_numpy()
        if not rows.loc[train, "label"].any():
            train = (cutoff < t).to_numpy()
        folds.append((train, (cutoff == t).to_numpy()))
    return folds


def fold_cutoffs(rows: pd.DataFrame, folds: list[Fold]) -> tuple[str, ...]:
    """The validation cutoff of each fold, as ISO dates (for logs and reports)."""
    return tuple(str(pd.Timestamp(rows.loc[valid, "cutoff"].max()).date()) for _, valid in folds)


def folds_are_out_of_time(rows: pd.DataFrame, folds: list[Fold]) -> bool:
    return all(rows.loc[train, "cutoff"].max() < rows.loc[valid, "cutoff"].min() for train, valid in folds)


def suggest_params(trial: optuna.Trial) -> dict[str, Any]:
    """One point of the search space; the names are LightGBMParams fields."""
    r = RANGES
    return {
        "learning_rate": trial.suggest_float("learning_rate", *r["learning_rate"], log=True),
        "num_leaves": trial.suggest_int("num_leaves", *r["num_leaves"], log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", *r["min_child_samples"], log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", *r["feature_fraction"]),
        "bagging_fraction": trial.suggest_float("bagging_fraction", *r["bagging_fraction"]),
        "lambda_l2": trial.suggest_float("lambda_l2", *r["lambda_l2"], log=True),
        "max_bin": trial.suggest_categorical("max_bin", MAX_BIN_CHOICES),
    }


def _within_space(params: dict[str, Any]) -> bool:
    return params["max_bin"] in MAX_BIN_CHOICES and all(lo <= params[k] <= hi for k, (lo, hi) in RANGES.items())


def with_params(config: TrainingConfig, params: dict[str, Any]) -> TrainingConfig:
    """`config` with its LightGBM parameters replaced by `params` (validated like a config file)."""
    lightgbm = LightGBMParams.model_validate({**config.lightgbm.model_dump(), **params})
    return config.model_copy(update={"lightgbm": lightgbm})


# a small ladder of regularisation a fit may choose from (training.search_candidates): the configured
# parameters first, then small shallow trees (few churners, additive signal), a sparser forest,
# and larger leaves (effects that only combine)
CANDIDATES: tuple[dict[str, Any], ...] = (
    {},
    {"num_leaves": 4, "min_child_samples": 200},
    {"num_leaves": 7, "feature_fraction": 0.5, "lambda_l2": 10.0},
    {"num_leaves": 31, "min_child_samples": 50},
)


def choose_params(rows: pd.DataFrame, spec: FeatureSpec, config: TrainingConfig
                  ) -> tuple[TrainingConfig, list[dict[str, Any]]]:
    """The first `config.search_candidates` of CANDIDATES graded on an inner out-of-time fold of
    `rows` (the training rows alone: the reported validation never chooses), the best kept (ties:
    the earlier candidate). Returns the config to fit with and every candidate's grade."""
    # without an out-of-time fold (one cutoff holds churn) the inner fold holds out clients by
    # another seed: the training rows are what the outer split left, held by the configured seed
    folds = rolling_origin_folds(rows, 1, config.model_copy(update={"seed": config.seed + 1}))
    graded = []
    for params in CANDIDATES[:config.search_candidates]:
        result = evaluate_params(rows, spec, config, params, folds)
        graded.append({"params": params, "roc_auc": result["roc_auc"], "cutoffs": list(result["cutoffs"])})
    best = max(range(len(graded)), key=lambda i: (graded[i]["roc_auc"], -i))
    return with_params(config, graded[best]["params"]), graded


def choose_blend_weight(rows: pd.DataFrame, spec: FeatureSpec, config: TrainingConfig
                        ) -> tuple[float, dict[float, float]]:
    """The linear part's weight in the blend (models.linear), graded on an inner out-of-time fold of
    `rows` (the training rows alone), and every weight's ROC AUC there. The trees alone (0) when the
    inner fold cannot grade: one class on either side."""
    (train, valid), = rolling_origin_folds(rows, 1, config.model_copy(update={"seed": config.seed + 1}))
    if rows.loc[train, "label"].nunique() < 2 or rows.loc[valid, "label"].nunique() < 2:
        return 0.0, {}
    train_set = lightgbm_dataset(rows, train, spec)
    valid_set = lightgbm_dataset(rows, valid, spec, reference=train_set)
    booster = lgb.train(lightgbm_params(config, len(rows), spec), train_set, num_boost_round=config.max_boost_rounds,
                        valid_sets=[valid_set], valid_names=["validation"],
                        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
    best = max(1, booster.best_iteration or booster.current_iteration())
    tree = booster.predict(rows.loc[valid, list(spec.feature_names)].to_numpy(dtype=np.float32), num_iteration=best,
                           raw_score=True, num_threads=1)
    linear = linear_part(rows.loc[train], spec, config, 1.0)
    return choose_weight(rows.loc[valid, "label"].to_numpy(), linear.margin(rows.loc[valid]), tree)


def evaluate_params(rows: pd.DataFrame, spec: FeatureSpec, training_config: TrainingConfig,
                    params: dict[str, Any], folds: list[Fold]) -> dict[str, Any]:
    """Mean and per-fold ROC AUC of `params`, each fold early-stopped on its own validation rows.

    Per-fold lists follow `cutoffs`, the validation cutoff of each fold.

    Everything not in `params` (rounds, early stopping, seed, threads) comes from `training_config`,
    so a fold is fitted exactly as `fit` fits its validation model.
    """
    if not folds:
        raise ValueError("evaluate_params needs at least one fold")
    config = with_params(training_config, params)
    lgb_params = lightgbm_params(config, len(rows), spec)
    names = list(spec.feature_names)
    roc_auc, pr_auc, best_iterations = [], [], []
    for train, valid in folds:
        if rows.loc[train, "label"].nunique() < 2:
            raise ValueError("a fold's training rows hold a single class; more history or cutoffs are needed")
        train_set = lightgbm_dataset(rows, train, spec)
        valid_set = lightgbm_dataset(rows, valid, spec, reference=train_set)
        booster = lgb.train(lgb_params, train_set, num_boost_round=config.max_boost_rounds,
                            valid_sets=[valid_set], valid_names=["validation"],
                            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)])
        best = max(1, booster.best_iteration or booster.current_iteration())
        probability = booster.predict(rows.loc[valid, names].to_numpy(dtype=np.float32), num_iteration=best,
                                      num_threads=1)
        metrics = classification_metrics(rows.loc[valid, "label"].to_numpy(), probability)
        roc_auc.append(metrics["roc_auc"])
        pr_auc.append(metrics["pr_auc"])
        best_iterations.append(int(best))
    return {
        "cutoffs": fold_cutoffs(rows, folds),
        "roc_auc": float(np.mean(roc_auc)),
        "pr_auc": float(np.mean(pr_auc)),
        "fold_roc_auc": roc_auc,
        "fold_pr_auc": pr_auc,
        "best_iterations": best_iterations,
    }


@dataclass(frozen=True)
class TrialRecord:
    number: int
    params: dict[str, Any]
    evaluation: dict[str, Any]  # as returned by evaluate_params


@dataclass(frozen=True)
class TuningResult:
    best_params: dict[str, Any]
    best_value: float                # mean ROC AUC over the folds
    best_number: int                 # the trial that gave it
    baseline_value: float | None     # the config's own parameters (trial 0); None when outside the space
    trials: tuple[TrialRecord, ...]  # every trial run, in order (a NaN score marks a failed one)
    fold_cutoffs: tuple[str, ...]    # validation cutoff of each fold, ISO dates
    out_of_time: bool                # False when the data forced the by-client fallback


OnTrial = Callable[[int, dict[str, Any], dict[str, Any]], None]


def tune(rows: pd.DataFrame, spec: FeatureSpec, training_config: TrainingConfig, n_trials: int,
         timeout: float | None, seed: int, on_trial: OnTrial | None = None, n_folds: int = 3) -> TuningResult:
    """Search LightGBM parameters with a seeded TPE sampler: same rows and seed, same trials.

    The first trial evaluates the parameters `training_config` already holds (when they lie in
    the search space), so the best found is never worse on these folds than what is in use.
    `on_trial(number, params, evaluation)` runs after each trial; an error there stops the search.
    `timeout` (seconds) is checked before each trial, so the trial running when it passes finishes.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folds = rolling_origin_folds(rows, n_folds, training_config)
    records: list[TrialRecord] = []

    def objective(trial: optuna.Trial) -> float:
        params = suggest_params(trial)
        evaluation = evaluate_params(rows, spec, training_config, params, folds)
        records.append(TrialRecord(trial.number, params, evaluation))
        if on_trial is not None:
            on_trial(trial.number, params, evaluation)
        return evaluation["roc_auc"]  # NaN: Optuna marks the trial failed and goes on

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    current = {k: v for k, v in training_config.lightgbm.model_dump().items() if k in TUNED_PARAMS}
    baseline = _within_space(current)
    if baseline:
        study.enqueue_trial(current)
    else:
        log.info("the configured LightGBM parameters lie outside the search space; no baseline trial")
    study.optimize(objective, n_trials=n_trials, timeout=timeout, gc_after_trial=False, show_progress_bar=False)
    if not records:
        raise ValueError(f"no tuning trial started within the {timeout:g} s timeout")
    if not any(np.isfinite(r.evaluation["roc_auc"]) for r in records):
        raise ValueError("no tuning trial gave a finite ROC AUC: a validation fold holds a single class")
    best = study.best_trial
    return TuningResult(
        best_params={k: best.params[k] for k in TUNED_PARAMS}, best_value=float(best.value), best_number=best.number,
        baseline_value=records[0].evaluation["roc_auc"] if baseline else None, trials=tuple(records),
        fold_cutoffs=fold_cutoffs(rows, folds), out_of_time=folds_are_out_of_time(rows, folds))
