"""Fitting on a Dask cluster: `lightgbm.dask.DaskLGBMClassifier` on distributed training rows.

The same split rule, parameters, calibration and refit as `models.training.fit`. LightGBM's Dask
estimator has no early stopping, so the booster grows in chunks of rounds (each fit continues the
previous booster, `init_model`) while recording its validation loss, until early stopping's own
rule (`best_iteration`) says it would have stopped; the refit on every cutoff then grows exactly
the best number of trees, as the local fit does.

Frames in (Dask rows, the pandas validation rows), fitted objects out; the cluster is an argument.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import categorical_features
from features.spec import FeatureSpec
from models.config import TrainingConfig
from models.training import FitResult, SplitRule, best_iteration, calibrate

log = logging.getLogger(__name__)

TRAIN = "__train"
CHUNK_ROUNDS = 200  # rounds per Dask fit; each continues the previous booster


def estimator_params(config: TrainingConfig) -> dict[str, Any]:
    """The local fit's LightGBM parameters, in the scikit-learn estimator's names."""
    p = config.lightgbm
    params = {
        "objective": "binary",
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "colsample_bytree": p.feature_fraction,
        "subsample": p.bagging_fraction,
        "subsample_freq": p.bagging_freq,
        "reg_lambda": p.lambda_l2,
        "max_bin": p.max_bin,
        "scale_pos_weight": p.scale_pos_weight,
        "random_state": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if p.num_threads > 0:  # else each worker uses its own threads
        params["n_jobs"] = p.num_threads
    return params


def log_loss(label: np.ndarray, raw_score: np.ndarray) -> float:
    """LightGBM's binary_logloss of raw scores (probabilities clipped as it does)."""
    p = np.clip(1.0 / (1.0 + np.exp(-raw_score)), 1e-15, 1 - 1e-15)
    return float(-np.mean(label * np.log(p) + (1 - label) * np.log(1 - p)))


def round_losses(booster: lgb.Booster, matrix: np.ndarray, label: np.ndarray, raw: np.ndarray, start: int
                 ) -> tuple[list[float], np.ndarray]:
    """The validation loss after each round from `start` on, and the raw scores after the last:
    one pass for the rows' leaves, then running sums of the leaves' values."""
    rounds = booster.current_iteration() - start
    if rounds <= 0:
        return [], raw
    leaves = booster.predict(matrix, pred_leaf=True, start_iteration=start, num_iteration=rounds).reshape(
        len(matrix), rounds)
    values = np.empty(leaves.shape, dtype=np.float64)
    for k in range(rounds):
        outputs = np.array([booster.get_leaf_output(start + k, leaf) for leaf in range(int(leaves[:, k].max()) + 1)])
        values[:, k] = outputs[leaves[:, k]]
    scores = raw[:, None] + np.cumsum(values, axis=1)
    return [log_loss(label, scores[:, k]) for k in range(rounds)], scores[:, -1].copy()


def _marked(frame: pd.DataFrame, rule: SplitRule, config: TrainingConfig) -> pd.DataFrame:
    return frame.assign(**{TRAIN: rule.masks(frame, config)[0]})


def fit_distributed(rows: Any, rule: SplitRule, spec: FeatureSpec, config: TrainingConfig, client: Any,
                    valid_rows: pd.DataFrame, split) -> FitResult:
    """Fit on the Dask dataframe `rows` (features, label); `valid_rows` are its validation rows in
    pandas (calibration and figures), `split` the rule applied to the rows kept for the report."""
    from lightgbm.dask import DaskLGBMClassifier

    # the estimator sets each worker's threads itself and says so for every fit
    warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
    if config.monotone_constraints or config.search_candidates > 1 or config.linear_blend \
            or config.activity_forecasts is True:
        log.warning("the Dask engine fits the trees alone with the configured LightGBM parameters: "
                    "training.monotone_constraints, training.search_candidates, training.linear_blend and "
                    "training.activity_forecasts apply to the local engine only")
    names = list(spec.feature_names)
    categorical = [c for c in categorical_features(spec) if c in names]
    meta = rows._meta.assign(**{TRAIN: pd.Series(dtype=bool)})
    marked = rows.map_partitions(_marked, rule, config, meta=meta)
    train = marked[marked[TRAIN]]
    params = estimator_params(config)
    stop = config.early_stopping_rounds
    chunk = max(4 * stop, CHUNK_ROUNDS)
    matrix = valid_rows[names].to_numpy(dtype=np.float32)
    label = valid_rows["label"].to_numpy(dtype=np.float64)
    curve: list[float] = []
    raw_sum = np.zeros(len(valid_rows))
    booster = None
    while len(curve) < config.max_boost_rounds:
        # grow in chunks, each continuing the last booster, until early stopping's rule would stop
        model = DaskLGBMClassifier(client=client, n_estimators=min(chunk, config.max_boost_rounds - len(curve)),
                                   **params)
        model.fit(train[names], train["label"], categorical_feature=categorical, init_model=booster)
        booster = model.booster_
        # the validation loss of every new round, here on all validation rows (the estimator's own
        # eval results hold one worker's share of them)
        losses, raw_sum = round_losses(booster, matrix, label, raw_sum, len(curve))
        curve += losses
        if len(curve) - best_iteration(curve, stop) >= stop:
            break
    best = best_iteration(curve, stop)
    log.info("Dask fit: %d rounds grown, validation loss best at %d", len(curve), best)
    raw = booster.predict(valid_rows[names].to_numpy(dtype=np.float32), num_iteration=best, num_threads=1)
    graded = calibrate(raw, valid_rows, config)
    if config.refit_on_all_cutoffs:
        refit = DaskLGBMClassifier(client=client, n_estimators=best, **params)
        refit.fit(marked[names], marked["label"], categorical_feature=categorical)
        booster = refit.booster_
    final = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return FitResult(final, best, graded.probability, raw, graded.ranking, graded.metrics, split, graded.calibrator,
                     curve=curve)
