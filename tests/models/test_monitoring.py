"""Realised performance of a published list, worked out by hand on eight clients."""

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score

from models.monitoring import MONITORING_COLUMNS, MonitoringConfig, append_row, breaches, matured, realised

T = pd.Timestamp("2025-10-31")
H = 30  # window (Oct 31, Nov 30]
LATER = pd.Timestamp("2025-12-15")

# ranked by probability; labels by hand: c1, c3 and c7 churned inside the window
SCORES = pd.DataFrame({
    "client_id": [f"c{i}" for i in range(1, 9)],
    "churn_probability": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
    "rank": [1, 2, 3, 4, 5, 6, 7, 8],
})
CHURN = pd.DataFrame({
    "client_id": ["c1", "c2", "c3", "c4", "c5", "c7"],
    "churned_at": pd.to_datetime(["2025-11-05",   # inside
                                  "2025-10-31",   # on T itself: not counted
                                  "2025-11-30",   # on T + H: counted
                                  "2025-12-01",   # T + H + 1: not counted
                                  "2025-10-01",   # before T: not counted
                                  "2025-11-10"]),  # inside
})
LABEL = np.array([1, 0, 1, 0, 0, 0, 1, 0])


def _figures(**changes):
    figures = {"list_as_of": "2025-10-31", "horizon_days": 30, "evaluated_at": "2025-12-15", "clients": 8,
               "churners": 3, "base_rate": 0.375, "roc_auc": 0.8, "capacity": 2, "precision_at_capacity": 0.5,
               "lift_at_capacity": 4 / 3, "recall_at_capacity": 1 / 3, "model_version": "3"}
    return figures | changes


def test_list_matures_exactly_on_the_last_day_of_its_window():
    assert matured(T, H, pd.Timestamp("2025-11-30"))
    assert not matured(T, H, pd.Timestamp("2025-11-29"))


def test_unmatured_list_is_refused():
    with pytest.raises(ValueError, match="has not matured by 2025-11-29"):
        realised(SCORES, CHURN, T, H, pd.Timestamp("2025-11-29"), 2)


def test_label_window_is_the_training_label():
    # churn on T and before T, and on T + H + 1, do not count; churn on T + H does
    figures = realised(SCORES, CHURN, T, H, LATER, 2)
    assert figures["churners"] == 3
    assert figures["base_rate"] == pytest.approx(3 / 8)


def test_churn_known_only_after_the_later_as_of_is_ignored():
    future = pd.DataFrame({"client_id": ["c6", "c8"], "churned_at": pd.to_datetime(["2025-12-20", "2026-01-05"])})
    with_future = realised(SCORES, pd.concat([CHURN, future]), T, H, LATER, 2)
    assert with_future == realised(SCORES, CHURN, T, H, LATER, 2)


def test_client_missing_from_churn_did_not_churn():
    few = CHURN[CHURN["client_id"] != "c7"]
    assert realised(SCORES, few, T, H, LATER, 2)["churners"] == 2
    assert realised(SCORES, None, T, H, LATER, 2)["churners"] == 0


def test_figures_at_a_capacity_of_two_clients_by_hand():
    figures = realised(SCORES, CHURN, T, H, LATER, 2)
    # ranks 1 and 2 reached: c1 churned, c2 did not
    assert figures["capacity"] == 2
    assert figures["precision_at_capacity"] == pytest.approx(1 / 2)
    assert figures["lift_at_capacity"] == pytest.approx((1 / 2) / (3 / 8))
    assert figures["recall_at_capacity"] == pytest.approx(1 / 3)


def test_figures_at_half_the_list_by_hand():
    figures = realised(SCORES, CHURN, T, H, LATER, 0.5)
    # ranks 1..4 reached: c1 and c3 churned
    assert figures["capacity"] == 4
    assert figures["precision_at_capacity"] == pytest.approx(2 / 4)
    assert figures["lift_at_capacity"] == pytest.approx((2 / 4) / (3 / 8))
    assert figures["recall_at_capacity"] == pytest.approx(2 / 3)


def test_roc_auc_is_sklearns():
    figures = realised(SCORES, CHURN, T, H, LATER, 2)
    assert figures["roc_auc"] == pytest.approx(roc_auc_score(LABEL, SCORES["churn_probability"]))


def test_perfect_ranking_has_roc_auc_one():
    top = CHURN[CHURN["client_id"].isin(["c1", "c3"])].assign(client_id=["c1", "c2"])
    assert realised(SCORES, top, T, H, LATER, 2)["roc_auc"] == 1.0


def test_single_class_gives_nan_and_no_breach():
    figures = realised(SCORES, None, T, H, LATER, 2)
    assert math.isnan(figures["roc_auc"]) and math.isnan(figures["lift_at_capacity"])
    assert breaches(figures, MonitoringConfig()) == []


def test_result_row_follows_monitoring_columns():
    figures = realised(SCORES, CHURN, T, H, LATER, 2)
    assert tuple(figures) == MONITORING_COLUMNS
    assert (figures["list_as_of"], figures["evaluated_at"], figures["horizon_days"]) == ("2025-10-31", "2025-12-15", 30)


def test_ranks_must_run_from_one_to_n():
    with pytest.raises(ValueError, match="ranks must be 1..8"):
        realised(SCORES.assign(rank=[1, 1, 3, 4, 5, 6, 7, 8]), CHURN, T, H, LATER, 2)


def test_each_threshold_crossed_is_a_breach():
    config = MonitoringConfig(min_precision_at_capacity=0.2)
    lines = breaches(_figures(roc_auc=0.55, lift_at_capacity=1.2, precision_at_capacity=0.1), config)
    assert lines == [
        "realised ROC AUC 0.55 of the 2025-10-31 list is below min_roc_auc 0.60",
        "realised lift at capacity 1.20 of the 2025-10-31 list is below min_lift_at_capacity 1.50",
        "realised precision at capacity 0.10 of the 2025-10-31 list is below min_precision_at_capacity 0.20",
    ]


def test_no_breach_when_figures_are_fine_or_checks_are_off():
    assert breaches(_figures(roc_auc=0.60, lift_at_capacity=2.0), MonitoringConfig()) == []  # equal is fine
    off = MonitoringConfig(min_roc_auc=None, min_lift_at_capacity=None)
    assert breaches(_figures(roc_auc=0.1, lift_at_capacity=0.1), off) == []


def test_config_rejects_unknown_keys():
    with pytest.raises(ValidationError, match="min_auc"):
        MonitoringConfig(min_auc=0.7)


def test_rerun_of_the_same_evaluation_replaces_its_row():
    first = append_row(None, _figures(roc_auc=0.7))
    again = append_row(first, _figures(roc_auc=0.75))
    assert len(again) == 1 and again["roc_auc"].iloc[0] == 0.75
    assert tuple(again.columns) == MONITORING_COLUMNS


def test_later_evaluation_of_a_list_keeps_both_rows_in_order():
    rows = append_row(None, _figures(evaluated_at="2025-12-31"))
    rows = append_row(rows, _figures(list_as_of="2025-09-30", evaluated_at="2025-11-30"))
    rows = append_row(rows, _figures(evaluated_at="2025-12-15"))
    assert rows[["list_as_of", "evaluated_at"]].values.tolist() == [
        ["2025-09-30", "2025-11-30"], ["2025-10-31", "2025-12-15"], ["2025-10-31", "2025-12-31"]]


def test_append_is_deterministic_and_reads_parsed_dates():
    text = append_row(None, _figures(evaluated_at="2025-12-31"))
    parsed = text.assign(list_as_of=pd.to_datetime(text["list_as_of"]),
                         evaluated_at=pd.to_datetime(text["evaluated_at"]))
    pd.testing.assert_frame_equal(append_row(text, _figures()), append_row(parsed, _figures()))


def test_lists_are_judged_at_the_as_of_or_the_data_end_when_earlier():
    from models.monitoring import judged_at

    # an as-of past the data (say chosen by a row dated 2100) knows no churn after the data ends
    assert judged_at(pd.Timestamp("2100-01-01"), pd.Timestamp("2025-12-31")) == pd.Timestamp("2025-12-31")
    assert judged_at(LATER, pd.Timestamp("2025-12-31")) == LATER  # point in time: never past the as-of
    assert judged_at(LATER, None) == LATER
    assert not matured(T, H, judged_at(pd.Timestamp("2100-01-01"), pd.Timestamp("2025-11-29")))
    assert matured(T, H, judged_at(pd.Timestamp("2100-01-01"), pd.Timestamp("2025-11-30")))


def test_a_list_not_yet_matured_is_said_so_with_its_window_and_the_data_end():
    from models.monitoring import not_matured

    assert not_matured(T, H, pd.Timestamp("2025-11-20")) == (
        "the 2025-10-31 list is not yet matured: its 30-day window ends 2025-11-30, the data ends 2025-11-20; "
        "not graded")
