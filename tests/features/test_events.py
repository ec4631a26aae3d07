"""Digital-behaviour features, on made-up event types: nothing may depend on fixed names."""

import numpy as np
import pandas as pd
import pytest
from features_testkit import build_one, frame, make_tables, spec_for

from features import events

# T = 2024-03-31. Days back from T: 6 -> 25 Mar, 7 -> 24 Mar, 29 -> 2 Mar, 30 -> 1 Mar,
# 59 -> 1 Feb, 60 -> 31 Jan, 89 -> 2 Jan, 90 -> 1 Jan.


def build(events_frame: pd.DataFrame, **config) -> pd.DataFrame:
    """The features on windows of 7, 30 and 90 days (the answers below are worked out for them) unless
    the test says otherwise."""
    tables = make_tables(events=events_frame)
    return build_one(events, tables, spec=spec_for(tables, **{"windows_days": (7, 30, 90), **config}))


def test_the_longest_window_sets_the_mix_and_the_clients_own_pace():
    tables = make_tables(events=frame("events", [("a", "2024-03-31T10:00:00Z", "x", "web"),
                                                 ("a", "2024-03-20T10:00:00Z", "x", "web"),
                                                 ("a", "2023-10-01T10:00:00Z", "x", "app"),   # 182 days back
                                                 ("a", "2023-03-01T10:00:00Z", "x", "app")],  # 396: outside
                                       "channel"))
    out = build_one(events, tables, spec=spec_for(tables, windows_days=(7, 30, 90, 365)))
    assert out.loc["a", ["x_count_90d", "x_count_365d", "active_days_365d"]].tolist() == [2, 3, 3]
    assert out.loc["a", "channel_app_share_365d"] == pytest.approx(1 / 3)
    # 2 in the last 30 days against a pace of 3 a year (3 x 30 / 365 in 30 days)
    assert out.loc["a", "x_30d_vs_365d_rate"] == pytest.approx(2 / (3 * 30 / 365))
    assert "x_30d_vs_90d_rate" not in out.columns and "channel_app_share_90d" not in out.columns


def test_feature_names_are_slugs_of_the_data_event_types():
    out = build(frame("events", [("a", "2024-03-30T10:00:00Z", "Página vista"),
                                 ("a", "2024-03-30T11:00:00Z", "Página vista"),
                                 ("b", "2024-03-30T12:00:00Z", "checkout")]))
    for name in ("pagina_vista", "checkout"):
        assert {f"{name}_count_7d", f"{name}_count_30d", f"{name}_count_90d",
                f"{name}_change_30d_vs_previous_30d"} <= set(out.columns)
    # every column name is a plain ascii slug, whatever the data's spelling
    assert all(c.isascii() and c == c.lower() and " " not in c for c in out.columns)


def test_event_types_in_the_spec_keep_the_data_spelling_ordered_by_frequency():
    tables = make_tables(events=frame("events", [("a", "2024-03-30T10:00:00Z", "checkout"),
                                                 ("a", "2024-03-30T11:00:00Z", "Página vista"),
                                                 ("b", "2024-03-30T12:00:00Z", "Página vista")]))
    spec = spec_for(tables)
    assert spec.event_types == ("Página vista", "checkout")
    assert spec.event_type_names == ("pagina_vista", "checkout")


def test_event_counts_per_type_over_7_30_and_90_calendar_days():
    ages = {"2024-03-31T23:59:59Z": 0, "2024-03-25T00:00:00Z": 6, "2024-03-24T23:59:59Z": 7,
            "2024-03-02T00:00:00Z": 29, "2024-03-01T00:00:00Z": 30, "2024-01-02T00:00:00Z": 89,
            "2024-01-01T23:59:59Z": 90}
    out = build(frame("events", [("a", ts, "checkout") for ts in ages]))
    # 7d: ages 0, 6 -> 2; 30d: + 7, 29 -> 4; 90d: + 30, 89 -> 6; age 90 is outside every window
    assert out.loc["a", ["checkout_count_7d", "checkout_count_30d", "checkout_count_90d"]].tolist() == [2, 4, 6]


def test_total_event_counts_add_up_all_types():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "Página vista"),
                                 ("a", "2024-03-20T10:00:00Z", "checkout"),
                                 ("a", "2024-02-20T10:00:00Z", "checkout")]))
    # ages 0, 11, 40: 7d 1, 30d 2, 90d 3
    assert out.loc["a", ["events_count_7d", "events_count_30d", "events_count_90d"]].tolist() == [1, 2, 3]


def test_client_without_events_has_zero_counts():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "checkout")]))
    assert out.loc["b", ["checkout_count_7d", "events_count_90d", "active_days_30d"]].tolist() == [0, 0, 0]


def test_active_days_count_distinct_calendar_days():
    out = build(frame("events", [("a", "2024-03-30T23:00:00Z", "x"), ("a", "2024-03-31T00:00:00Z", "x"),
                                 ("a", "2024-03-31T08:00:00Z", "x"), ("a", "2024-03-01T12:00:00Z", "x")]))
    # days 30 Mar, 31 Mar (twice: one day) inside 30d; 1 Mar is 30 days back: only in 90d
    assert out.loc["a", ["active_days_30d", "active_days_90d"]].tolist() == [2, 3]


def test_days_since_last_event_reads_history_older_than_90_days():
    out = build(frame("events", [("a", "2023-10-01T08:00:00Z", "x")]))
    # 1 Oct 2023 -> 31 Mar 2024: 31 (Oct) + 30 + 31 + 31 + 29 + 30 = 182 days
    assert out.loc["a", "days_since_last_event"] == 182
    assert out.loc["a", "events_count_90d"] == 0


def test_days_since_last_event_is_0_for_an_event_at_midnight_on_cutoff_day():
    out = build(frame("events", [("a", "2024-03-31T00:00:00Z", "x"), ("b", "2024-03-30T23:59:59Z", "x")]))
    assert out.loc[["a", "b"], "days_since_last_event"].tolist() == [0, 1]


def test_days_since_last_event_is_missing_for_a_client_without_events():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "x")]))
    assert np.isnan(out.loc["b", "days_since_last_event"])


def test_event_history_days_reach_back_to_the_first_event_up_to_the_longest_window():
    out = build(frame("events", [("a", "2024-03-30T08:00:00Z", "x"), ("a", "2023-10-01T08:00:00Z", "x"),
                                 ("a", "2024-03-31T23:00:00Z", "x"), ("c", "2022-01-05T08:00:00Z", "x")]))
    # a: first 1 Oct 2023 -> 31 Mar 2024, 182 days, older than the 90-day window; last on the cutoff day: 0
    assert out.loc["a", ["event_history_days_90d", "days_since_last_event"]].tolist() == [90, 0]
    long = build(frame("events", [("a", "2023-10-01T08:00:00Z", "x"), ("c", "2022-01-05T08:00:00Z", "x")]),
                 windows_days=(7, 30, 365))
    # with a year-long window the 182 days show; c's two years stop at the window
    assert long.loc[["a", "c"], "event_history_days_365d"].tolist() == [182, 365]
    assert np.isnan(out.loc["b", "event_history_days_90d"])


def test_change_compares_last_30_days_with_the_30_before():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "x"), ("a", "2024-03-15T10:00:00Z", "x"),
                                 ("a", "2024-03-02T00:00:00Z", "x"),                   # ages 0, 16, 29
                                 ("a", "2024-03-01T00:00:00Z", "x"), ("a", "2024-02-01T23:00:00Z", "x"),  # 30, 59
                                 ("a", "2024-01-31T10:00:00Z", "x")]))                  # 60: neither
    # (3 - 2) / 2 = 0.5
    assert out.loc["a", "x_change_30d_vs_previous_30d"] == pytest.approx(0.5)
    assert out.loc["a", "events_change_30d_vs_previous_30d"] == pytest.approx(0.5)


def test_change_is_missing_when_the_previous_30_days_are_empty():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "x"), ("a", "2024-01-31T10:00:00Z", "x")]))
    # 1 event now, 0 in days 30..59: a rise from nothing has no ratio
    assert np.isnan(out.loc["a", "x_change_30d_vs_previous_30d"])
    assert np.isnan(out.loc["a", "events_change_30d_vs_previous_30d"])


def test_change_is_minus_1_when_activity_stopped():
    out = build(frame("events", [("a", "2024-02-15T10:00:00Z", "x")]))
    # 0 now, 1 before: (0 - 1) / 1
    assert out.loc["a", "events_change_30d_vs_previous_30d"] == -1


def test_channel_shares_over_90_days():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "x", "web"), ("a", "2024-03-20T10:00:00Z", "x", "web"),
                                 ("a", "2024-02-20T10:00:00Z", "x", "web"), ("a", "2024-01-10T10:00:00Z", "x", "app"),
                                 ("a", "2023-12-01T10:00:00Z", "x", "app")],  # older than 90 days: left out
                       "channel"))
    # web 3 of 4, app 1 of 4
    assert out.loc["a", "channel_web_share_90d"] == pytest.approx(0.75)
    assert out.loc["a", "channel_app_share_90d"] == pytest.approx(0.25)
    assert np.isnan(out.loc["b", "channel_web_share_90d"])


def test_value_sums_per_valued_type_over_30_and_90_days():
    out = build(frame("events", [("a", "2024-03-26T10:00:00Z", "checkout", "10"),
                                 ("a", "2024-02-20T10:00:00Z", "checkout", "5"),
                                 ("a", "2023-12-22T10:00:00Z", "checkout", "2.5"),  # 100 days back
                                 ("a", "2024-03-26T10:00:00Z", "Página vista", None)],
                       "value"))
    assert out.loc["a", ["checkout_value_sum_30d", "checkout_value_sum_90d"]].tolist() == [10, 15]
    # a type that never carries a value gets no value feature
    assert not any(c.startswith("pagina_vista_value") for c in out.columns)


def test_missing_value_adds_nothing_to_the_sum():
    out = build(frame("events", [("a", "2024-03-26T10:00:00Z", "checkout", "10"),
                                 ("a", "2024-03-27T10:00:00Z", "checkout", None)], "value"))
    assert out.loc["a", "checkout_value_sum_30d"] == 10


def test_event_type_unseen_at_training_is_not_counted_as_a_known_type():
    training = make_tables(events=frame("events", [("a", "2024-03-01T10:00:00Z", "checkout")]))
    spec = spec_for(training)
    scoring = make_tables(events=frame("events", [("a", "2024-03-31T10:00:00Z", "checkout"),
                                                  ("a", "2024-03-31T11:00:00Z", "Nuevo tipo")]))
    out = build_one(events, scoring, spec=spec)
    assert out.loc["a", "checkout_count_7d"] == 1
    # still activity: the total counts it
    assert out.loc["a", "events_count_7d"] == 2
    assert not any(c.startswith("nuevo_tipo") for c in out.columns)


def test_types_beyond_max_event_types_get_no_columns():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "checkout"), ("a", "2024-03-31T11:00:00Z", "checkout"),
                                 ("a", "2024-03-31T12:00:00Z", "rare")]), max_event_types=1)
    assert "checkout_count_7d" in out.columns
    assert not any(c.startswith("rare") for c in out.columns)
    assert out.loc["a", "events_count_7d"] == 3


def test_event_type_slugs_never_collide_with_total_features():
    out = build(frame("events", [("a", "2024-03-31T10:00:00Z", "Events"), ("a", "2024-03-31T11:00:00Z", "x")]))
    # "Events" would be "events_count_7d", the total; it is renamed instead
    assert out.loc["a", "events_count_7d"] == 2
    assert out.loc["a", "event_events_count_7d"] == 1


def test_an_event_type_named_like_a_channel_feature_does_not_shadow_it():
    rows = [("a", "2024-03-31T10:00:00Z", "Channel web", "web"), ("a", "2024-03-31T11:00:00Z", "x", "app")]
    out = build(frame("events", rows, "channel"))
    assert out.columns.is_unique
    assert out.loc["a", "channel_web_share_90d"] == 0.5          # half of the events came via web
    assert out.loc["a", "event_channel_web_share_90d"] == 0.5    # half of the events are "Channel web"


def test_event_after_cutoff_is_not_counted():
    out = build(frame("events", [("a", "2024-03-31T23:59:59Z", "x"), ("a", "2024-04-01T00:00:00Z", "x")]))
    assert out.loc["a", "events_count_7d"] == 1


def test_builder_does_not_mutate_its_input():
    tables = make_tables(events=frame("events", [("a", "2024-03-31T10:00:00Z", "x")]))
    before = tables.events.copy()
    build_one(events, tables)
    pd.testing.assert_frame_equal(tables.events, before)


def test_distinct_keys_by_a_sort_equal_numpys_unique():
    from features.events import _distinct

    rng = np.random.default_rng(3)
    keys = rng.integers(0, 50, 500).astype(np.int64)
    assert np.array_equal(_distinct(keys), np.unique(keys))
    assert _distinct(np.zeros(0, dtype=np.int64)).tolist() == [] and _distinct(np.array([7, 7])).tolist() == [7]
