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
