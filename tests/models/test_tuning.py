"""Rolling-origin folds, the search space and reproducible searches, on tiny frames."""

import numpy as np
import optuna
import pandas as pd
import pytest

from features.spec import FeaturesConfig, FeatureSpec
from models import TrainingConfig
from models.tuning import (
    MAX_BIN_CHOICES,
    RANGES,
    evaluate_params,
    fold_cutoffs,
    rolling_origin_folds,
    suggest_params,
    tune,
)


def rows(labels_per_cutoff: dict[str, list[int]]) -> pd.DataFrame:
    frames = [pd.DataFrame({"client_id": [f"c{i}" for i in range(len(labels))], "cutoff": pd.Timestamp(t),
                            "label": labels}) for t, labels in labels_per_cutoff.items()]
    return pd.concat(frames, ignore_index=True)


def test_each_fold_trains_only_on_cutoffs_before_its_validation_cutoff():
    data = rows({"2024-01-31": [0, 1, 0], "2024-02-29": [1, 0, 0], "2024-03-31": [0, 0, 1],
                 "2024-04-30": [1, 0, 0]})
    folds = rolling_origin_folds(data, 3)
    assert fold_cutoffs(data, folds) == ("2024-02-29", "2024-03-31", "2024-04-30")
    for (train, valid), cutoff in zip(folds, ["2024-02-29", "2024-03-31", "2024-04-30"]):
        assert data.loc[valid, "cutoff"].eq(pd.Timestamp(cutoff)).all() and valid.sum() == 3
        assert data.loc[train, "cutoff"].max() < pd.Timestamp(cutoff)
        assert train.sum() == (data["cutoff"] < pd.Timestamp(cutoff)).sum()  # every earlier row, not a sample


def test_one_fold_per_churn_cutoff_skipping_cutoffs_without_churners():
    # March holds no churner: it trains the April fold but validates none
    data = rows({"2024-01-31": [0, 1], "2024-02-29": [1, 0], "2024-03-31": [0, 0], "2024-04-30": [0, 1]})
    folds = rolling_origin_folds(data, 5)
    assert fold_cutoffs(data, folds) == ("2024-02-29", "2024-04-30")  # January is left to train on


def test_asking_for_fewer_folds_keeps_the_latest_cutoffs():
    data = rows({"2024-01-31": [0, 1], "2024-02-29": [1, 0], "2024-03-31": [0, 1]})
    assert fold_cutoffs(data, rolling_origin_folds(data, 1)) == ("2024-03-31",)


def test_churn_in_a_single_cutoff_falls_back_to_one_split_by_client():
    data = rows({"2024-01-31": [0] * 400, "2024-02-29": [1, 0] * 200})
    folds = rolling_origin_folds(data, 3, TrainingConfig(fallback_validation_share=0.25))
    assert len(folds) == 1
    train, valid = folds[0]
    assert data.loc[valid, "cutoff"].eq(pd.Timestamp("2024-02-29")).all()
    held = set(data.loc[valid, "client_id"])
    assert held and not held & set(data.loc[train, "client_id"])  # a client is on one side only


def test_no_churner_at_all_gives_no_fold():
    with pytest.raises(ValueError, match="no churner"):
        rolling_origin_folds(rows({"2024-01-31": [0, 0], "2024-02-29": [0, 0]}), 2)


def test_suggested_params_lie_in_the_search_space():
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(sampler=sampler)
    for _ in range(50):
        params = suggest_params(study.ask())
        assert params["max_bin"] in MAX_BIN_CHOICES
        for name, (lo, hi) in RANGES.items():
            assert lo <= params[name] <= hi, name
        assert isinstance(params["num_leaves"], int) and isinstance(params["min_child_samples"], int)


def synthetic(n_clients: int = 150, n_cutoffs: int = 4, seed: int = 0) -> tuple[pd.DataFrame, FeatureSpec]:
    """Clients whose churn odds rise with `risk`; `noise` carries nothing."""
    rng = np.random.default_rng(seed)
    frames = []
    for month in range(n_cutoffs):
        risk = rng.normal(size=n_clients)
        frames.append(pd.DataFrame({
            "client_id": [f"c{i}" for i in range(n_clients)],
            "cutoff": pd.Timestamp("2024-01-31") + pd.offsets.MonthEnd(month),
            "risk": risk, "noise": rng.normal(size=n_clients),
            "label": (rng.random(n_clients) < 1 / (1 + np.exp(2 - 2 * risk))).astype(int)}))
    spec = FeatureSpec(config=FeaturesConfig(), sources=(), optional_columns={}, feature_names=("risk", "noise"))
    return pd.concat(frames, ignore_index=True), spec


FAST = TrainingConfig(max_boost_rounds=60, early_stopping_rounds=10)


def test_evaluation_reports_each_fold_and_finds_the_signal():
    data, spec = synthetic()
    folds = rolling_origin_folds(data, 2)
    result = evaluate_params(data, spec, FAST, {"num_leaves": 4, "min_child_samples": 20}, folds)
    assert len(result["fold_roc_auc"]) == len(result["best_iterations"]) == 2
    assert result["roc_auc"] == pytest.approx(np.mean(result["fold_roc_auc"]))
    assert result["roc_auc"] > 0.7


def test_same_rows_and_seed_give_the_same_trials():
    data, spec = synthetic()
    first = tune(data, spec, FAST, n_trials=3, timeout=None, seed=5, n_folds=2)
    again = tune(data, spec, FAST, n_trials=3, timeout=None, seed=5, n_folds=2)
    assert [t.params for t in first.trials] == [t.params for t in again.trials]
    assert first.best_params == again.best_params and first.best_value == again.best_value
    other = tune(data, spec, FAST, n_trials=3, timeout=None, seed=6, n_folds=2)
    assert [t.params for t in other.trials][1:] != [t.params for t in first.trials][1:]  # the seed matters


def test_the_first_trial_is_the_configured_parameters_and_each_trial_reaches_the_hook():
    data, spec = synthetic()
    seen = []
    result = tune(data, spec, FAST, n_trials=2, timeout=None, seed=1, n_folds=2,
                  on_trial=lambda number, params, evaluation: seen.append((number, params, evaluation["roc_auc"])))
    configured = FAST.lightgbm.model_dump()
    assert all(seen[0][1][k] == configured[k] for k in seen[0][1])
    assert [n for n, _, _ in seen] == [0, 1]
    assert result.baseline_value == seen[0][2]
    assert result.best_value == max(v for _, _, v in seen)
    assert result.fold_cutoffs == ("2024-03-31", "2024-04-30") and result.out_of_time


def test_a_timeout_passed_before_the_first_trial_is_an_error_not_an_empty_result():
    data, spec = synthetic()
    with pytest.raises(ValueError, match="no tuning trial started within the 0 s timeout"):
        tune(data, spec, FAST, n_trials=5, timeout=0, seed=0, n_folds=2)
