"""Support-ticket features. SLA targets are the defaults of FeaturesConfig:
first response urgent 1 h, high 4 h, medium 8 h, low 24 h, other 24 h;
resolution urgent 8 h, high 24 h, medium 72 h, low 120 h, other 72 h.
"""

import numpy as np
import pandas as pd
from features_testkit import build_one, frame, make_tables

from features import tickets

# T = 2024-03-31; the end of day T is 1 April 00:00.


def build(rows: list[tuple], *extra: str) -> pd.DataFrame:
    return build_one(tickets, make_tables(tickets=frame("tickets", rows, *extra)))


def test_ticket_resolved_after_cutoff_counts_as_open():
    out = build([("t1", "a", "2024-03-10T09:00:00Z", "2024-04-02T09:00:00Z"),  # resolved after T: open
                 ("t2", "a", "2024-03-10T09:00:00Z", "2024-03-15T09:00:00Z"),  # closed
                 ("t3", "a", "2024-03-20T09:00:00Z", None)],                   # never resolved: open
                "resolved_at")
    assert out["tickets_open"].to_dict() == {"a": 2, "b": 0, "c": 0}


def test_ticket_answered_after_cutoff_counts_as_unanswered():
    out = build([("t1", "a", "2024-03-31T20:00:00Z", "2024-04-01T08:00:00Z"),  # answered after T
                 ("t2", "a", "2024-03-10T00:00:00Z", "2024-03-10T02:00:00Z"),  # answered
                 ("t3", "a", "2024-03-20T09:00:00Z", None)],                   # never answered
                "first_response_at")
    assert out.loc["a", "tickets_unanswered"] == 2


def test_tickets_opened_in_the_last_30_and_90_days():
    out = build([("t1", "a", "2024-03-31T23:00:00Z"), ("t2", "a", "2024-03-02T00:00:00Z"),  # 0 and 29 days back
                 ("t3", "a", "2024-03-01T00:00:00Z"), ("t4", "a", "2024-01-02T00:00:00Z"),  # 30 and 89
                 ("t5", "a", "2024-01-01T23:00:00Z")])                                      # 90: outside
    assert out.loc["a", ["tickets_opened_30d", "tickets_opened_90d"]].tolist() == [2, 4]


def test_days_since_last_ticket():
    out = build([("t1", "a", "2024-03-01T10:00:00Z"), ("t2", "a", "2024-03-21T10:00:00Z")])
    assert out.loc["a", "days_since_last_ticket"] == 10
    assert np.isnan(out.loc["b", "days_since_last_ticket"])


def test_tickets_open_without_a_resolution_column_are_all_open():
    out = build([("t1", "a", "2024-03-01T10:00:00Z"), ("t2", "a", "2024-03-21T10:00:00Z")])
    assert out.loc["a", "tickets_open"] == 2


def test_high_priority_share_over_90_days():
    out = build([("t1", "a", "2024-03-30T10:00:00Z", "high"), ("t2", "a", "2024-03-20T10:00:00Z", "URGENT"),
                 ("t3", "a", "2024-03-10T10:00:00Z", "low"), ("t4", "a", "2024-02-10T10:00:00Z", "medium"),
                 ("t5", "a", "2023-12-01T10:00:00Z", "urgent")],  # older than 90 days: left out
                "priority")
    # high + urgent = 2 of 4
    assert out.loc["a", "high_priority_ticket_share_90d"] == 0.5
    assert np.isnan(out.loc["b", "high_priority_ticket_share_90d"])


def test_median_first_response_hours_over_answered_tickets():
    out = build([("t1", "a", "2024-03-10T00:00:00Z", "2024-03-10T01:00:00Z"),   # 1 h
                 ("t2", "a", "2024-03-11T00:00:00Z", "2024-03-11T03:00:00Z"),   # 3 h
                 ("t3", "a", "2024-03-12T00:00:00Z", "2024-03-12T10:00:00Z"),   # 10 h
                 ("t4", "a", "2024-03-13T00:00:00Z", None),                     # unanswered: no time
                 ("t5", "a", "2023-12-01T00:00:00Z", "2023-12-05T04:00:00Z")],  # 100 h, older than 90 d
                "first_response_at")
    assert out.loc["a", "median_first_response_hours_90d"] == 3
    assert np.isnan(out.loc["b", "median_first_response_hours_90d"])


def test_first_response_sla_breaches_count_late_answers_and_long_waits():
    out = build([("t1", "a", "2024-03-10T00:00:00Z", "2024-03-10T05:00:00Z", "high"),    # 5 h > 4: breach
                 ("t2", "a", "2024-03-10T00:00:00Z", "2024-03-10T02:00:00Z", "low"),     # 2 h < 24
                 ("t3", "a", "2024-03-31T20:00:00Z", None, "urgent"),                   # waited 4 h > 1: breach
                 ("t4", "a", "2024-03-31T20:00:00Z", None, "medium"),                   # waited 4 h < 8
                 ("t5", "a", "2024-03-31T12:00:00Z", "2024-04-01T10:00:00Z", "high")],  # 12 h by T > 4: breach
                "first_response_at", "priority")
    assert out.loc["a", "first_response_sla_breaches_90d"] == 3


def test_unanswered_ticket_breaches_once_it_has_waited_past_sla_at_end_of_day():
    # urgent (1 h) opened at 22:59 has waited 1 h 1 min at midnight; one opened at 23:00 exactly 1 h
    out = build([("t1", "a", "2024-03-31T22:59:00Z", None, "urgent"),
                 ("t2", "b", "2024-03-31T23:00:00Z", None, "urgent")],
                "first_response_at", "priority")
    assert out.loc[["a", "b"], "first_response_sla_breaches_90d"].tolist() == [1, 0]


def test_ticket_without_priority_uses_the_default_sla():
    out = build([("t1", "a", "2024-03-10T00:00:00Z", "2024-03-11T06:00:00Z", None),   # 30 h > 24
                 ("t2", "b", "2024-03-10T00:00:00Z", "2024-03-10T20:00:00Z", None)],  # 20 h < 24
                "first_response_at", "priority")
    assert out.loc[["a", "b"], "first_response_sla_breaches_90d"].tolist() == [1, 0]


def test_resolution_sla_breaches_count_late_resolutions_and_tickets_still_open_too_long():
    out = build([("t1", "a", "2024-03-30T00:00:00Z", "2024-03-31T12:00:00Z", "high"),    # 36 h > 24: breach
                 ("t2", "a", "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "low"),     # 24 h < 120
                 ("t3", "a", "2024-03-28T00:00:00Z", "2024-04-05T00:00:00Z", "medium"),  # open at T, 96 h > 72
                 ("t4", "a", "2024-03-30T00:00:00Z", None, "medium"),                    # open, 48 h < 72
                 ("t5", "a", "2024-03-20T00:00:00Z", "2024-03-21T00:00:00Z", "high")],   # exactly 24 h: on time
                "resolved_at", "priority")
    assert out.loc["a", "resolution_sla_breaches_90d"] == 2


def test_reopened_ticket_follows_a_resolution_within_7_days():
    out = build([("t1", "a", "2024-03-01T00:00:00Z", "2024-03-05T10:00:00Z"),
                 ("t2", "a", "2024-03-10T09:00:00Z", "2024-03-12T00:00:00Z"),  # 4 d 23 h after t1: reopened
                 ("t3", "a", "2024-03-25T00:00:00Z", None)],                   # 13 d after t2: new problem
                "resolved_at")
    assert out.loc["a", "tickets_reopened_90d"] == 1


def test_reopen_window_is_inclusive_of_7_days():
    out = build([("t1", "a", "2024-03-01T00:00:00Z", "2024-03-05T00:00:00Z"),
                 ("t2", "a", "2024-03-12T00:00:00Z", None),                    # exactly 7 d: reopened
                 ("t3", "b", "2024-03-01T00:00:00Z", "2024-03-05T00:00:00Z"),
                 ("t4", "b", "2024-03-12T00:00:01Z", None)],                   # 7 d 1 s: not
                "resolved_at")
    assert out.loc[["a", "b"], "tickets_reopened_90d"].tolist() == [1, 0]


def test_reopen_needs_the_same_client():
    out = build([("t1", "a", "2024-03-01T00:00:00Z", "2024-03-05T00:00:00Z"),
                 ("t2", "b", "2024-03-06T00:00:00Z", None)],
                "resolved_at")
    assert out["tickets_reopened_90d"].to_dict() == {"a": 0, "b": 0, "c": 0}


def test_last_satisfaction_is_from_the_latest_resolution_known_at_cutoff():
    out = build([("t1", "a", "2024-03-01T00:00:00Z", "2024-03-25T00:00:00Z", "3"),  # resolved last by T
                 ("t2", "a", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z", "5"),
                 ("t3", "a", "2024-03-20T00:00:00Z", "2024-04-02T00:00:00Z", "1")],  # resolved after T
                "resolved_at", "satisfaction")
    assert out.loc["a", "last_ticket_satisfaction"] == 3
    assert np.isnan(out.loc["b", "last_ticket_satisfaction"])


def test_unrated_resolution_does_not_hide_an_earlier_rating():
    out = build([("t1", "a", "2024-03-01T00:00:00Z", "2024-03-02T00:00:00Z", "2"),
                 ("t2", "a", "2024-03-05T00:00:00Z", "2024-03-06T00:00:00Z", None)],
                "resolved_at", "satisfaction")
    assert out.loc["a", "last_ticket_satisfaction"] == 2
