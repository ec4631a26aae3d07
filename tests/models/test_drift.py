"""Drift by hand: bins learnt from the reference, mergeable counts, PSI, statuses and the stop gate."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.drift import DriftConfig, DriftCounter, Profile, assess, counts, noise_psi, psi, reference_profiles

ONE_TO_TWENTY = pd.DataFrame({"x": np.arange(1.0, 21.0)})
HALVES = Profile("numeric", (0.5,), (0.5, 0.5, 0.0))
# three quarters below 0.5, a quarter above: PSI = 0.25 ln 1.5 + 0.25 ln 2 = 0.25 ln 3
SHIFTED = np.array([30, 10, 0])


def _profiles_and_counts(score_counts, feature_counts):
    profiles = {"churn_probability": HALVES, "tenure_days": HALVES}
    return profiles, {"churn_probability": np.array(score_counts), "tenure_days": np.array(feature_counts)}


def test_numeric_edges_are_lower_quantiles_with_right_closed_bins():
    profile = reference_profiles(ONE_TO_TWENTY, ["x"], bins=4)["x"]
    assert profile.kind == "numeric"
    assert profile.edges == (5.0, 10.0, 15.0)
    assert profile.proportions == (0.25, 0.25, 0.25, 0.25, 0.0)
    assert list(counts(np.array([5.0, 5.5, 15.0, 99.0, np.nan]), profile)) == [1, 1, 1, 1, 1]


def test_tied_quantiles_collapse_into_fewer_bins():
    frame = pd.DataFrame({"x": [0.0] * 8 + [1.0, 2.0]})
    profile = reference_profiles(frame, ["x"], bins=4, max_discrete=0)["x"]
    assert profile.edges == (0.0,)
    assert profile.proportions == pytest.approx((0.8, 0.2, 0.0))


def test_edges_are_learnt_from_the_reference_only():
    profile = reference_profiles(ONE_TO_TWENTY, ["x"], bins=4)["x"]
    counter = DriftCounter({"x": profile}).add(pd.DataFrame({"x": [100.0, 200.0, 300.0]}))
    assert profile.edges == (5.0, 10.0, 15.0)  # unchanged by what was counted
    assert list(counter.counts["x"]) == [0, 0, 0, 3, 0]


def test_psi_of_identical_distributions_is_zero():
    profile = reference_profiles(ONE_TO_TWENTY, ["x"], bins=4)["x"]
    assert psi(profile, counts(ONE_TO_TWENTY["x"].to_numpy(), profile)) == 0.0


def test_two_bin_psi_matches_the_formula():
    assert psi(HALVES, SHIFTED) == pytest.approx(0.25 * math.log(3), abs=1e-9)


def test_psi_without_rows_is_nan():
    assert math.isnan(psi(HALVES, np.zeros(3, dtype=np.int64)))


def test_psi_rejects_counts_of_another_layout():
    with pytest.raises(ValueError, match="counts must have 3 bins"):
        psi(HALVES, np.array([1, 2]))


def test_discrete_value_unseen_at_training_goes_to_other():
    frame = pd.DataFrame({"plan": [1.0, 1.0, 2.0, 2.0, np.nan]})
    profile = reference_profiles(frame, ["plan"])["plan"]
    assert profile.kind == "discrete"
    assert profile.edges == (1.0, 2.0)
    assert profile.proportions == (0.4, 0.4, 0.0, 0.2)  # 1, 2, other, missing
    assert list(counts(np.array([1.0, 3.0, 7.0, np.nan]), profile)) == [1, 0, 2, 1]


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.one_of(st.integers(-5, 30).map(float), st.just(float("nan"))), max_size=40),
       cut=st.integers(0, 40))
def test_counts_of_two_halves_add_up_to_counts_of_the_whole(values, cut):
    x = np.array(values, dtype=float)
    for profile in reference_profiles(pd.DataFrame({"n": np.arange(1.0, 21.0), "d": np.arange(20.0) % 3}),
                                      ["n", "d"], bins=4).values():
        assert np.array_equal(counts(x[:cut], profile) + counts(x[cut:], profile), counts(x, profile))


def test_counter_counts_an_absent_column_as_missing():
    profile = reference_profiles(ONE_TO_TWENTY, ["x"], bins=4)["x"]
    counter = DriftCounter({"x": profile}).add(pd.DataFrame({"other": [1, 2]})).add(pd.DataFrame({"x": [1.0]}))
    assert list(counter.counts["x"]) == [1, 0, 0, 0, 2]


def test_all_missing_column_stops_the_run_when_stop_on_any():
    reference = pd.DataFrame({"x": np.arange(1.0, 21.0), "churn_probability": np.linspace(0, 1, 20)})
    profiles = reference_profiles(reference, ["x", "churn_probability"], bins=4)
    current = reference.assign(x=np.nan)
    report = assess(profiles, DriftCounter(profiles).add(current).counts, DriftConfig(stop_on="any"))
    worst = report.table.iloc[0]
    assert (worst["column"], worst["status"], worst["current_missing_share"]) == ("x", "stop", 1.0)
    assert worst["psi"] > 5
    assert report.stop


def test_stop_on_score_ignores_a_drifting_feature():
    profiles, accumulated = _profiles_and_counts([20, 20, 0], SHIFTED)
    assert not assess(profiles, accumulated, DriftConfig(stop_on="score")).stop
    assert assess(profiles, accumulated, DriftConfig(stop_on="any")).stop


def test_stop_on_score_stops_on_a_drifting_score():
    profiles, accumulated = _profiles_and_counts(SHIFTED, [20, 20, 0])
    assert assess(profiles, accumulated, DriftConfig(stop_on="score")).stop
    assert assess(profiles, accumulated, DriftConfig(stop_on="any")).stop


def test_stop_on_never_reports_without_stopping():
    profiles, accumulated = _profiles_and_counts(SHIFTED, SHIFTED)
    report = assess(profiles, accumulated, DriftConfig(stop_on="never"))
    assert not report.stop
    assert list(report.table["status"]) == ["stop", "stop"]


def test_report_table_is_sorted_worst_first_with_plain_messages():
    profiles, accumulated = _profiles_and_counts(SHIFTED, [21, 19, 0])
    report = assess(profiles, accumulated, DriftConfig())
    assert list(report.table.columns) == ["column", "psi", "status", "reference_missing_share",
                                          "current_missing_share", "rows", "noise_psi"]
    assert list(report.table["column"]) == ["churn_probability", "tenure_days"]
    assert list(report.table["status"]) == ["stop", "ok"]
    assert report.messages[0] == "score PSI 0.27 above stop_psi 0.25"


def test_assess_names_counts_without_a_profile():
    profiles, accumulated = _profiles_and_counts(SHIFTED, SHIFTED)
    with pytest.raises(ValueError, match=r"counts without a profile: \['nps_last_score'\]"):
        assess(profiles, {**accumulated, "nps_last_score": SHIFTED}, DriftConfig())


def test_profile_round_trips_through_json():
    frame = pd.DataFrame({"x": np.arange(1.0, 21.0), "plan": [1.0, 2.0, np.nan, 2.0] * 5})
    for profile in reference_profiles(frame, ["x", "plan"], bins=4).values():
        assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile


def test_profile_rejects_proportions_of_the_wrong_length():
    with pytest.raises(ValueError, match="needs 3 proportions, not 2"):
        Profile("numeric", (0.5,), (0.5, 0.5))


def test_config_rejects_warn_psi_not_below_stop_psi():
    with pytest.raises(ValidationError, match="warn_psi must be below stop_psi"):
        DriftConfig(warn_psi=0.25, stop_psi=0.25)


TEN_BINS = Profile("numeric", tuple(np.arange(1, 10) / 10), (*[0.1] * 10, 0.0))


def test_noise_psi_is_what_a_sample_of_the_reference_itself_stays_under_99_times_in_100():
    rng = np.random.default_rng(7)
    for rows in (64, 200, 1000):
        level = noise_psi(TEN_BINS, rows)
        values = [psi(TEN_BINS, counts(pd.Series(rng.random(rows)), TEN_BINS)) for _ in range(1000)]
        assert 0.002 <= np.mean(np.array(values) > level) <= 0.025, rows
    # fewer rows, more noise: 0.78 for 64 rows, 0.12 for 200, 0.02 for 1,000 (the module docstring)
    assert noise_psi(TEN_BINS, 64) > 0.7 and 0.1 < noise_psi(TEN_BINS, 200) < 0.15 and noise_psi(TEN_BINS, 1000) < 0.03
    assert np.isnan(noise_psi(TEN_BINS, 0)) and noise_psi(TEN_BINS, 64) == noise_psi(TEN_BINS, 64)


def test_a_small_portfolios_chance_drift_does_not_stop_the_run_and_the_same_shift_on_many_rows_does():
    # the score's shares move from 10% a bin to 20% in the top two and 5% in the bottom four: PSI 0.28
    shifted = np.array([3, 3, 3, 3, 6, 6, 6, 6, 12, 12, 0])
    profiles = {"churn_probability": TEN_BINS}
    small = assess(profiles, {"churn_probability": shifted}, DriftConfig())  # 60 rows
    row = small.table.iloc[0]
    assert row["psi"] == pytest.approx(psi(TEN_BINS, shifted)) and row["psi"] > 0.25
    assert (row["status"], small.stop) == ("noise", False) and row["psi"] < row["noise_psi"]
    assert small.messages[0] == (f"score PSI {row['psi']:.2f} within the sampling noise of 60 rows (a sample of "
                                 f"the training reference itself reaches {row['noise_psi']:.2f} one time in 100): "
                                 "not drift")
    large = assess(profiles, {"churn_probability": shifted * 100}, DriftConfig())  # 6,000 rows, the same shares
    assert (large.table.iloc[0]["status"], large.stop) == ("stop", True)
    assert large.messages[0] == f"score PSI {row['psi']:.2f} above stop_psi 0.25"
