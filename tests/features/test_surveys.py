"""NPS survey features."""

import numpy as np
import pandas as pd
import pytest
from features_testkit import build_one, frame, make_tables

from features import surveys

# T = 2024-03-31. a answered 9 on 10 Jan, then 5 on 20 Mar, then 10 on 1 Apr (after T: unknown);
# b answered 7 once at 23:00 on T; c never answered.
ANSWERS = frame("surveys", [("a", "2024-01-10T09:00:00Z", "9"), ("a", "2024-03-20T09:00:00Z", "5"),
                            ("a", "2024-04-01T00:00:00Z", "10"), ("b", "2024-03-31T23:00:00Z", "7")])


@pytest.fixture(scope="module")
def out() -> pd.DataFrame:
    return build_one(surveys, make_tables(surveys=ANSWERS))


def test_last_score_is_the_latest_answer_known_at_cutoff(out):
    # a's 10 on 1 April came after T
    assert out.loc["a", "nps_last_score"] == 5
    assert out.loc["b", "nps_last_score"] == 7
    assert np.isnan(out.loc["c", "nps_last_score"])


def test_last_group_is_0_detractor_1_passive_2_promoter(out):
    assert out.loc["a", "nps_last_group"] == 0  # 5
    assert out.loc["b", "nps_last_group"] == 1  # 7
    assert np.isnan(out.loc["c", "nps_last_group"])


def test_nps_group_boundaries():
    scores = np.array([0, 6, 7, 8, 9, 10, np.nan])
    np.testing.assert_array_equal(surveys.nps_group(scores), [0, 0, 1, 1, 2, 2, np.nan])


def test_score_change_from_previous_answer(out):
    # a: 5 - 9 = -4; b has a single answer, nothing to compare with
    assert out.loc["a", "nps_score_change_from_previous"] == -4
    assert np.isnan(out.loc["b", "nps_score_change_from_previous"])


def test_days_since_last_answer(out):
    # a: 20 Mar -> 31 Mar = 11 days; b answered on T itself
    assert out.loc["a", "days_since_last_nps_answer"] == 11
    assert out.loc["b", "days_since_last_nps_answer"] == 0
    assert np.isnan(out.loc["c", "days_since_last_nps_answer"])


def test_answers_count_only_answers_known_at_cutoff(out):
    assert out["nps_answers_count"].to_dict() == {"a": 2, "b": 1, "c": 0}


def test_mean_score(out):
    # a: (9 + 5) / 2
    assert out.loc["a", "nps_mean_score"] == 7
    assert np.isnan(out.loc["c", "nps_mean_score"])


def test_detractor_share(out):
    # a: one detractor (5) in two answers; b: none; c: no answers, no share
    assert out.loc["a", "nps_detractor_answer_share"] == pytest.approx(0.5)
    assert out.loc["b", "nps_detractor_answer_share"] == 0
    assert np.isnan(out.loc["c", "nps_detractor_answer_share"])


def test_no_answer_flag(out):
    assert out["nps_no_answer_yet"].to_dict() == {"a": 0, "b": 0, "c": 1}


def test_answer_after_cutoff_changes_nothing():
    before_t = ANSWERS.iloc[[0, 1, 3]]
    full = build_one(surveys, make_tables(surveys=ANSWERS))
    cut = build_one(surveys, make_tables(surveys=before_t))
    pd.testing.assert_frame_equal(full, cut)


def test_answer_at_midnight_on_cutoff_day_is_0_days_old():
    out = build_one(surveys, make_tables(surveys=frame("surveys", [("a", "2024-03-31T00:00:00Z", "10")])))
    assert out.loc["a", "days_since_last_nps_answer"] == 0
    assert out.loc["a", "nps_last_group"] == 2


def test_promoter_group_for_9_and_10():
    answers = frame("surveys", [("a", "2024-03-01T09:00:00Z", "9"), ("b", "2024-03-01T09:00:00Z", "10"),
                                ("c", "2024-03-01T09:00:00Z", "8")])
    out = build_one(surveys, make_tables(surveys=answers))
    assert out["nps_last_group"].to_dict() == {"a": 2, "b": 2, "c": 1}
