"""Calibration: fitted on out-of-time predictions, graded cross-fitted."""

import numpy as np
import pandas as pd
import pytest

from models.calibration import Calibrator, cross_fitted
from models.evaluation import expected_calibration_error


@pytest.fixture
def inflated():
    rng = np.random.default_rng(0)
    truth = rng.beta(1, 20, 20_000)              # real churn probabilities, mean about 5%
    label = (rng.random(truth.size) < truth).astype(int)
    raw = np.clip(truth * 3, 0, 1)               # a model whose probabilities are three times too high
    return raw, label, pd.Series([f"c{i}" for i in range(truth.size)])


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibration_lowers_brier_and_ece_out_of_fold(inflated, method):
    raw, label, ids = inflated
    calibrated = cross_fitted(raw, label, ids, method)
    brier = lambda p: np.mean((p - label) ** 2)  # noqa: E731
    assert brier(calibrated) < brier(raw)
    assert expected_calibration_error(label, calibrated) < expected_calibration_error(label, raw) / 3


def test_sigmoid_calibration_keeps_the_ranking(inflated):
    raw, label, _ = inflated
    calibrated = Calibrator("sigmoid").fit(raw, label).transform(raw)
    assert (np.diff(calibrated[np.argsort(raw)]) >= -1e-12).all()


def test_cross_fitting_never_grades_a_row_with_a_calibrator_that_saw_it(inflated):
    raw, label, ids = inflated
    # flipping one half's labels must not change the other half's calibrated values' source:
    # each half is calibrated by the other half only
    half = (pd.util.hash_pandas_object(ids, index=False, hash_key="0000000000000000").to_numpy() % 2).astype(bool)
    a = cross_fitted(raw, label, ids, "sigmoid")
    flipped = label.copy()
    flipped[half] = 1 - flipped[half]
    b = cross_fitted(raw, flipped, ids, "sigmoid")
    assert np.allclose(a[~half], b[~half]) is False  # the other half learnt from the flipped half
    assert np.allclose(a[half], b[half])              # rows of the flipped half were calibrated by the other


def test_ranking_figures_follow_the_deployed_order_and_calibration_figures_stay_cross_fitted(inflated):
    from sklearn.metrics import roc_auc_score

    from models.config import TrainingConfig
    from models.training import calibrate

    raw, label, ids = inflated
    rng = np.random.default_rng(1)
    raw = np.clip(raw + rng.normal(0, 0.02, raw.size), 1e-4, 1)  # no ties: every order is strict
    valid = pd.DataFrame({"client_id": ids, "label": label})
    graded = calibrate(raw, valid, TrainingConfig(calibration="sigmoid"))
    cross = cross_fitted(raw, label, ids, "sigmoid", TrainingConfig().seed)
    # two sigmoids for two halves reorder the pooled rows: the cross-fitted ranking is not the booster's
    assert roc_auc_score(label, cross) != pytest.approx(roc_auc_score(label, raw), abs=1e-6)
    assert graded.metrics["roc_auc"] == pytest.approx(roc_auc_score(label, raw), abs=1e-12)
    assert np.array_equal(np.argsort(graded.ranking, kind="stable"), np.argsort(raw, kind="stable"))
    assert graded.metrics["brier"] == pytest.approx(np.mean((cross - label) ** 2))
    assert np.allclose(graded.probability, cross)
    isotonic = calibrate(raw, valid, TrainingConfig(calibration="isotonic"))
    assert np.array_equal(isotonic.ranking, isotonic.probability)  # its ties are where it was fitted
    plain = calibrate(raw, valid, TrainingConfig(calibration="none"))
    assert plain.calibrator is None and np.array_equal(plain.ranking, raw)


def test_evaluate_ranks_by_the_ranking_and_grades_probabilities_by_the_probability():
    from models.evaluation import EvaluationConfig, evaluate

    label = np.array([0, 1, 0, 1])
    probability = np.array([0.9, 0.1, 0.2, 0.8])  # one churner-stayer pair of four in order: ROC AUC 0.25
    ranking = np.array([0.1, 0.9, 0.2, 0.8])      # both churners first: ROC AUC 1
    figures = evaluate(label, probability, np.full(4, 100.0), EvaluationConfig(), ranking)
    assert figures["roc_auc"] == 1.0
    assert figures["brier"] == pytest.approx((0.81 + 0.81 + 0.04 + 0.04) / 4)
    assert figures["gain_at_20pct"] == 0.5  # one contact (20% of 4 rounds to 1) catches one of two churners
    assert evaluate(label, probability, np.full(4, 100.0), EvaluationConfig())["roc_auc"] == 0.25
