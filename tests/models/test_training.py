"""Splitting, metrics and the champion rule, on tiny frames."""

import numpy as np
import pandas as pd
import pytest

from models import TrainingConfig, decide, split_rows, validation_window
from models.metrics import classification_metrics, is_better, top_share_lift


def rows(labels_per_cutoff: dict[str, list[int]]) -> pd.DataFrame:
    frames = [pd.DataFrame({"client_id": [f"c{i}" for i in range(len(labels))], "cutoff": pd.Timestamp(t),
                            "label": labels}) for t, labels in labels_per_cutoff.items()]
    return pd.concat(frames, ignore_index=True)


def test_validation_window_is_the_latest_cutoffs_with_churners():
    t = [pd.Timestamp(d) for d in ("2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30")]
    assert validation_window({t[0]: 3, t[1]: 2, t[2]: 0, t[3]: 4}, 2) == (t[1], t[3])


def test_validation_window_always_leaves_a_churn_cutoff_to_train_on():
    t = [pd.Timestamp(d) for d in ("2024-01-31", "2024-02-29")]
    assert validation_window({t[0]: 1, t[1]: 1}, 5) == (t[1],)
    assert validation_window({t[0]: 0, t[1]: 1}, 2) == ()


def test_out_of_time_split_trains_only_on_earlier_cutoffs():
    data = rows({"2024-01-31": [0, 1, 0], "2024-02-29": [1, 0, 0], "2024-03-31": [0, 0, 1]})
    split = split_rows(data, TrainingConfig(validation_cutoffs=1))
    assert split.kind == "out_of_time"
    assert split.window == ("2024-03-31",)
    assert data.loc[split.valid, "cutoff"].eq(pd.Timestamp("2024-03-31")).all()
    assert data.loc[split.train, "cutoff"].max() < pd.Timestamp("2024-03-31")
    assert not (split.train & split.valid).any()


def test_single_snapshot_falls_back_to_a_split_by_client_and_says_so():
    labels = [1, 0] * 200
    data = rows({"2024-01-31": [0] * 400, "2024-02-29": labels})
    split = split_rows(data, TrainingConfig(fallback_validation_share=0.25))
    assert split.kind == "by_client"
    assert "single cutoff" in split.note
    held = set(data.loc[split.valid, "client_id"])
    assert held and not held & set(data.loc[split.train, "client_id"])  # a client is on one side only
    assert 0.15 < split.valid.sum() / 400 < 0.35


def test_no_churner_at_all_cannot_be_split():
    with pytest.raises(ValueError, match="no churner"):
        split_rows(rows({"2024-01-31": [0, 0]}), TrainingConfig())


def test_top_decile_lift_by_hand():
    # 20 rows, 4 churners (rate 0.2); the top 2 scores hold 1 churner: rate 0.5, lift 2.5
    y = np.array([1, 0] + [0] * 15 + [1, 1, 1])
    p = np.linspace(1, 0, 20)
    assert top_share_lift(y, p, 0.1) == pytest.approx(2.5)


def test_metrics_of_a_perfect_ranking():
    m = classification_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert m["roc_auc"] == 1.0 and m["pr_auc"] == 1.0
    assert m["brier"] == pytest.approx((0.01 + 0.04 + 0.04 + 0.01) / 4)


def test_brier_is_better_when_lower():
    assert is_better("brier", 0.05, 0.06) and not is_better("brier", 0.06, 0.05)
    assert is_better("roc_auc", 0.80, 0.79) and not is_better("roc_auc", 0.80, 0.79, margin=0.02)


def test_first_model_becomes_champion():
    assert decide("roc_auc", 0.7, None, 0.0).promote


def test_worse_model_does_not_take_champion():
    decision = decide("roc_auc", 0.70, 0.75, 0.0, champion_version="3")
    assert not decision.promote and "does not beat champion v3" in decision.reason


def test_best_iteration_follows_early_stopping_on_a_recorded_curve():
    from models.training import best_iteration

    curve = [0.5, 0.4, 0.35, 0.36, 0.37, 0.34, 0.38, 0.39, 0.40, 0.30]
    # patience 2: after 0.35 (round 3) two rounds without a better loss end the search
    assert best_iteration(curve, 2) == 3
    # patience 3 reaches 0.34 (round 6), then three worse rounds end it before the late 0.30
    assert best_iteration(curve, 3) == 6
    # patience 5 is still waiting when 0.30 comes (round 10)
    assert best_iteration(curve, 5) == 10


def test_split_rule_decided_from_churners_per_cutoff_gives_split_rows_masks():
    from models.training import split_rule

    data = rows({"2024-01-31": [0, 1, 0], "2024-02-29": [1, 0, 0], "2024-03-31": [0, 0, 1]})
    config = TrainingConfig(validation_cutoffs=1, horizon_days=30)
    rule = split_rule({pd.Timestamp("2024-01-31"): 1, pd.Timestamp("2024-02-29"): 1,
                       pd.Timestamp("2024-03-31"): 1}, config)
    expected = split_rows(data, config)
    # each part of the rows gets its own rows' masks: the same as splitting the whole
    for part in (data.iloc[:4], data.iloc[4:]):
        train, valid = rule.masks(part, config)
        assert (train == expected.train[part.index]).all() and (valid == expected.valid[part.index]).all()


def test_a_training_label_window_may_not_cross_the_first_validation_cutoff():
    # month-ends with a 60-day horizon; the two latest cutoffs validate, so the first validation
    # cutoff is 2024-03-31. A training row at T is labelled by churn in (T, T+60d]:
    #   2023-12-31 + 60d = 2024-02-29  closes before 2024-03-31: trains
    #   2024-01-31 + 60d = 2024-03-31  closes on it, nothing after it is seen: trains
    #   2024-02-29 + 60d = 2024-04-29  would see churn of the validation period: dropped from both sides
    data = rows({"2023-12-31": [1, 0], "2024-01-31": [0, 1], "2024-02-29": [1, 0], "2024-03-31": [0, 1],
                 "2024-04-30": [1, 0]})
    split = split_rows(data, TrainingConfig(validation_cutoffs=2, horizon_days=60))
    assert split.kind == "out_of_time" and split.note == ""
    assert split.window == ("2024-03-31", "2024-04-30")
    day = data["cutoff"].dt.strftime("%Y-%m-%d")
    assert list(day[split.train]) == ["2023-12-31", "2023-12-31", "2024-01-31", "2024-01-31"]
    assert list(day[split.valid]) == ["2024-03-31", "2024-03-31", "2024-04-30", "2024-04-30"]
    assert list(day[~split.train & ~split.valid]) == ["2024-02-29", "2024-02-29"]


def test_paired_bootstrap_of_an_auc_difference_is_paired_and_clustered():
    from models.metrics import paired_bootstrap_auc_difference

    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])
    perfect = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7, 0.2, 0.6])
    draws = paired_bootstrap_auc_difference(y, perfect, perfect, np.arange(8), draws=50, seed=1)
    assert np.all(draws == 0)  # the same scores on the same resample: no difference, ever
    worse = perfect.copy()
    worse[[2, 4]] = worse[[4, 2]]  # one positive swapped below a negative
    draws = paired_bootstrap_auc_difference(y, perfect, worse, np.arange(8), draws=200, seed=1)
    assert np.all(draws >= 0) and draws.mean() > 0
    # a client's two rows move together, and resamples with one class only are drawn again
    groups = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    y2 = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    draws = paired_bootstrap_auc_difference(y2, y2 * 0.9 + 0.05, 1 - y2, groups, draws=30, seed=2)
    assert np.allclose(draws, 1.0)  # AUC 1 (perfect) minus AUC 0 (reversed), on every resample


def test_with_monotone_constraints_risk_never_falls_as_a_risk_raising_feature_rises(generated_data):
    """Each feature moved alone over its range, the others fixed: the booster's score follows the
    feature's declared direction (features.monotone_directions)."""
    from features import fit_spec, monotone_directions, training_rows
    from features.cutoffs import as_of
    from features.spec import FeaturesConfig
    from models.config import TrainingConfig
    from models.training import fit
    from pipeline.data.contract import load_folder

    tables = load_folder(generated_data, quarantine_dir=None, max_rejected_share=1.0, require_churn=True).tables
    cutoffs = [pd.Timestamp(t) for t in ("2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30")]
    spec = fit_spec(as_of(tables, cutoffs[-1]), FeaturesConfig())
    rows = training_rows(tables, cutoffs, spec, 30)
    config = TrainingConfig(monotone_constraints=True, max_boost_rounds=60, early_stopping_rounds=60,
                            refit_on_all_cutoffs=False, calibration="none")
    booster = fit(rows, spec, config).booster
    names = list(spec.feature_names)
    directions = monotone_directions(spec)
    assert {1, -1} <= set(directions)
    base = rows[names].head(40).to_numpy(dtype=np.float32)
    checked = 0
    for j, direction in enumerate(directions):
        if direction == 0:
            continue
        grid = np.nanquantile(rows[names[j]].to_numpy(dtype=float), np.linspace(0, 1, 8))
        scores = []
        for value in grid:
            moved = base.copy()
            moved[:, j] = value
            scores.append(booster.predict(moved, raw_score=True, num_threads=1))
        steps = np.diff(np.array(scores), axis=0) * direction
        assert (steps >= -1e-9).all(), names[j]
        checked += 1
    assert checked >= 20


def test_the_parameter_search_chooses_on_training_rows_only_and_keeps_the_best(generated_data):
    from features import fit_spec, training_rows
    from features.cutoffs import as_of
    from features.spec import FeaturesConfig
    from models.config import TrainingConfig
    from models.training import fit, split_rows
    from models.tuning import CANDIDATES, choose_params
    from pipeline.data.contract import load_folder

    tables = load_folder(generated_data, quarantine_dir=None, max_rejected_share=1.0, require_churn=True).tables
    cutoffs = [pd.Timestamp(t) for t in ("2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30")]
    spec = fit_spec(as_of(tables, cutoffs[-1]), FeaturesConfig())
    rows = training_rows(tables, cutoffs, spec, 30)
    # the search on the features alone, as choose_params is called here (forecasts would add columns)
    config = TrainingConfig(search_candidates=3, max_boost_rounds=80, early_stopping_rounds=20,
                            refit_on_all_cutoffs=False, calibration="none", activity_forecasts=False)
    split = split_rows(rows, config)
    chosen, graded = choose_params(rows.loc[split.train].reset_index(drop=True), spec, config)
    assert [g["params"] for g in graded] == list(CANDIDATES[:3])
    # the inner fold validates on a training cutoff, before the reported validation window
    assert max(g["cutoffs"][0] for g in graded) < min(split.window)
    best = max(graded, key=lambda g: g["roc_auc"])
    for key, value in best["params"].items():
        assert getattr(chosen.lightgbm, key) == value
    result = fit(rows, spec, config)
    assert result.search == graded


def test_the_parameter_search_works_when_churn_falls_in_a_single_cutoff(generated_data):
    """A snapshot: the outer split holds out clients by the seed, so the inner fold must hold out
    others, not an empty set."""
    from features import fit_spec, training_rows
    from features.cutoffs import as_of
    from features.spec import FeaturesConfig
    from models.config import TrainingConfig
    from models.training import fit
    from pipeline.data.contract import load_folder

    tables = load_folder(generated_data, quarantine_dir=None, max_rejected_share=1.0, require_churn=True).tables
    cutoff = pd.Timestamp("2025-11-30")
    spec = fit_spec(as_of(tables, cutoff), FeaturesConfig())
    rows = training_rows(tables, [cutoff], spec, 30)
    config = TrainingConfig(search_candidates=2, max_boost_rounds=40, early_stopping_rounds=10,
                            refit_on_all_cutoffs=False, calibration="none")
    result = fit(rows, spec, config)
    assert result.split.kind == "by_client" and len(result.search) == 2
    assert all(0.5 < g["roc_auc"] <= 1 for g in result.search)
