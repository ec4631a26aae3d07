"""Evaluation figures by hand: gains, lift, the expected-profit curve and its best cut, ECE."""

import numpy as np
import pytest

from models.evaluation import (
    EvaluationConfig,
    client_values,
    evaluate,
    expected_calibration_error,
    gains_table,
    profit_curve,
)

# 10 clients ranked by probability; churners at ranks 1, 2 and 5
LABEL = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
PROBABILITY = np.linspace(0.9, 0.0, 10)
VALUE = np.array([100, 50, 10, 10, 200, 10, 10, 10, 10, 10], dtype=float)
CONFIG = EvaluationConfig(retention_cost_per_contact=10, offer_acceptance_rate=0.5, team_capacity=2)


def test_gains_and_lift_by_hand():
    table = gains_table(LABEL, PROBABILITY)
    assert table["churners_caught"].tolist() == [1, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    assert table["gain"].iloc[1] == pytest.approx(2 / 3)
    assert table["lift"].iloc[1] == pytest.approx((2 / 2) / 0.3)


def test_profit_curve_by_hand():
    curve = profit_curve(LABEL, PROBABILITY, VALUE, CONFIG)
    # saved: 50, 75, 75, 75, 175, ...; cost 10 per contact
    assert curve["value_saved"].tolist()[:5] == [50, 75, 75, 75, 175]
    assert curve["profit"].tolist()[:6] == [40, 55, 45, 35, 125, 115]


def test_best_cut_and_value_saved_at_capacity():
    figures = evaluate(LABEL, PROBABILITY, VALUE, CONFIG)
    assert figures["expected_profit"] == pytest.approx(125)
    assert figures["profit_best_share"] == pytest.approx(0.5)
    assert figures["value_saved_at_capacity"] == pytest.approx(75)  # the team reaches 2 clients
    assert figures["lift_at_20pct"] == pytest.approx((2 / 2) / 0.3)


def test_no_profitable_cut_means_contact_nobody():
    figures = evaluate(LABEL, PROBABILITY, VALUE, EvaluationConfig(retention_cost_per_contact=1000))
    assert figures["expected_profit"] == 0 and figures["profit_best_share"] == 0


def test_expected_calibration_error_by_hand():
    # bin [0.1, 0.2): 2 rows at p=0.15, one churner (rate 0.5): |0.5 - 0.15| = 0.35
    # bin [0.9, 1.0]: 2 rows at p=0.95, both churners: |1 - 0.95| = 0.05
    assert expected_calibration_error(np.array([1, 0, 1, 1]), np.array([0.15, 0.15, 0.95, 0.95])) == \
        pytest.approx((2 * 0.35 + 2 * 0.05) / 4)


def test_client_value_defaults_when_monthly_value_is_unknown():
    assert client_values(np.array([10.0, np.nan]), 2, EvaluationConfig()).tolist() == [120.0, 500.0]
    assert client_values(None, 2, EvaluationConfig(default_client_value=7)).tolist() == [7.0, 7.0]


def test_a_baseline_is_not_beaten_by_an_equal_roc_auc_or_a_higher_expected_profit():
    from models.validation import not_beaten, not_beaten_note

    model = {"roc_auc": 0.80, "expected_profit": 100.0}
    figures = {"level": {"roc_auc": 0.80, "expected_profit": 50.0},       # as high a ROC AUC
               "earner": {"roc_auc": 0.70, "expected_profit": 100.5},     # more profit
               "beaten": {"roc_auc": 0.79, "expected_profit": 100.0},     # below on one, level on the other
               "recency": {"roc_auc": 0.60}}                              # a rank: no profit figure
    assert not_beaten(model, figures) == ["level", "earner"]
    assert not_beaten({"roc_auc": 0.9, "expected_profit": 200.0}, figures) == []
    assert not_beaten_note(["level", "earner"]) == (
        "LightGBM does not beat the baseline(s) level, earner on the validation window (ROC AUC or expected "
        "profit): prefer the simpler model or look at the data")
