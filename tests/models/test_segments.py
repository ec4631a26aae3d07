"""Segments by hand: bands, value at risk, NPS groups, the loyalty ladder, value quadrants."""

import numpy as np
import pandas as pd
import pytest

from models.segments import SegmentsConfig, expected_value_at_risk, loyalty_stage, nps_group, risk_band, value_quadrant

CONFIG = SegmentsConfig()


def test_risk_bands_at_their_thresholds():
    assert list(risk_band(np.array([0.30, 0.2999, 0.10, 0.05]), CONFIG)) == ["high", "medium", "medium", "low"]


def test_expected_value_at_risk_is_probability_times_value_times_months():
    assert expected_value_at_risk(np.array([0.25]), np.array([40.0]), CONFIG)[0] == pytest.approx(0.25 * 40 * 12)


def test_nps_groups():
    assert list(nps_group(np.array([10, 9, 8, 7, 6, 0, np.nan]))) == [
        "promoter", "promoter", "passive", "passive", "detractor", "detractor", "no answer"]


def test_loyalty_ladder():
    features = pd.DataFrame({
        "tenure_days":        [30, 400, 400, 400, 400],
        "active_days_30d":    [20, 2, 12, 12, 12],
        "nps_last_score":     [10, 10, 7, 9, 10],
        "nps_answers_count":  [3, 3, 1, 1, 3],
        "nps_mean_score":     [10, 10, 7, 9, 9.5],
        "nps_detractor_answer_share": [0, 0, 0, 0, 0],
    })
    assert list(loyalty_stage(features, CONFIG)) == ["new buyer", "client", "frequent client", "advocate",
                                                     "promoter"]


def test_without_events_nobody_is_frequent():
    features = pd.DataFrame({"tenure_days": [400], "nps_last_score": [10]})
    assert list(loyalty_stage(features, CONFIG)) == ["client"]


def test_value_quadrants_split_at_the_median():
    value = np.array([100.0, 100.0, 10.0, 10.0])
    p = np.array([0.05, 0.95, 0.0, 0.9])
    # current median 55; future values 95, 5, 10, 1 -> median 7.5
    assert list(value_quadrant(value, p, CONFIG)) == ["keep and grow", "retain now", "develop",
                                                      "maintain at low cost"]
    config = SegmentsConfig(value_split=50)
    assert list(value_quadrant(value, p, config)) == ["keep and grow", "retain now", "maintain at low cost",
                                                      "maintain at low cost"]


def test_band_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="medium_risk_from must be below high_risk_from"):
        SegmentsConfig(high_risk_from=0.1, medium_risk_from=0.2)
