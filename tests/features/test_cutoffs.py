"""The time module: what was known at the end of day T, windows, active clients, labels, cutoffs."""

import numpy as np
import pandas as pd
import pytest
from features_testkit import T, frame, make_tables

import features
from features import cutoffs

# T = 2024-03-31 throughout; T+1 = 2024-04-01.


def known_event_times(events: pd.DataFrame, cutoff: pd.Timestamp = T) -> list[str]:
    tables = make_tables(events=events)
    known = cutoffs.as_of(tables, cutoff).events
    return [str(ts) for ts in known["timestamp"]]


# --- known at T: the end of day T ---------------------------------------------------------------

def test_event_at_last_second_of_cutoff_day_is_known():
    events = frame("events", [("a", "2024-03-31T23:59:59Z", "login")])
    assert known_event_times(events) == ["2024-03-31 23:59:59"]


def test_event_at_midnight_after_cutoff_is_not_known():
    events = frame("events", [("a", "2024-04-01T00:00:00Z", "login")])
    assert known_event_times(events) == []


def test_offset_is_converted_to_utc_before_deciding_the_day():
    # 01:00 on 1 April at +02:00 is 23:00 on 31 March UTC: known at T.
    # 23:30 on 31 March at -01:00 is 00:30 on 1 April UTC: not known at T.
    events = frame("events", [("a", "2024-04-01T01:00:00+02:00", "login"),
                              ("b", "2024-03-31T23:30:00-01:00", "login")])
    assert known_event_times(events) == ["2024-03-31 23:00:00"]


def test_offset_event_falls_on_previous_utc_day():
    # the brief's own example: 2024-03-02T01:00+02:00 is 2024-03-01 23:00 UTC, so known at 1 March
    events = frame("events", [("a", "2024-03-02T01:00:00+02:00", "login")])
    assert known_event_times(events, pd.Timestamp("2024-03-01")) == ["2024-03-01 23:00:00"]


def test_survey_answered_after_cutoff_is_not_known():
    surveys = frame("surveys", [("a", "2024-03-31T12:00:00Z", "9"), ("a", "2024-04-01T00:00:00Z", "2")])
    known = cutoffs.as_of(make_tables(surveys=surveys), T).surveys
    assert known["score"].tolist() == [9.0]


def test_ticket_opened_after_cutoff_is_not_known():
    tickets = frame("tickets", [("t1", "a", "2024-03-31T23:00:00Z"), ("t2", "a", "2024-04-01T00:00:00Z")])
    known = cutoffs.as_of(make_tables(tickets=tickets), T).tickets
    assert known["ticket_id"].tolist() == ["t1"]


def test_ticket_answered_after_cutoff_reads_as_unanswered():
    tickets = frame("tickets", [("t1", "a", "2024-03-30T10:00:00Z", "2024-04-01T08:00:00Z"),
                                ("t2", "a", "2024-03-30T10:00:00Z", "2024-03-31T23:59:59Z")],
                    "first_response_at")
    known = cutoffs.as_of(make_tables(tickets=tickets), T).tickets.set_index("ticket_id")
    assert pd.isna(known.loc["t1", "first_response_at"])
    assert known.loc["t2", "first_response_at"] == pd.Timestamp("2024-03-31 23:59:59")


def test_ticket_resolved_after_cutoff_reads_as_open_with_unknown_satisfaction():
    tickets = frame("tickets", [("t1", "a", "2024-03-30T10:00:00Z", "2024-04-01T00:00:00Z", "5"),
                                ("t2", "a", "2024-03-30T10:00:00Z", "2024-03-31T18:00:00Z", "2")],
                    "resolved_at", "satisfaction")
    known = cutoffs.as_of(make_tables(tickets=tickets), T).tickets.set_index("ticket_id")
    assert pd.isna(known.loc["t1", "resolved_at"])
    assert pd.isna(known.loc["t1", "satisfaction"])
    assert known.loc["t2", "resolved_at"] == pd.Timestamp("2024-03-31 18:00:00")
    assert known.loc["t2", "satisfaction"] == 2.0


def test_satisfaction_of_a_ticket_never_resolved_is_unknown():
    # a rating is given on resolution; one on an unresolved ticket cannot have been known
    tickets = frame("tickets", [("t1", "a", "2024-03-30T10:00:00Z", None, "4")], "resolved_at", "satisfaction")
    known = cutoffs.as_of(make_tables(tickets=tickets), T).tickets
    assert known["satisfaction"].isna().all()


def test_as_of_does_not_mutate_the_input_tables():
    tickets = frame("tickets", [("t1", "a", "2024-03-30T10:00:00Z", "2024-04-02T00:00:00Z")], "resolved_at")
    tables = make_tables(tickets=tickets)
    cutoffs.as_of(tables, T)
    assert tables.tickets["resolved_at"].tolist() == [pd.Timestamp("2024-04-02")]


# --- windows and ages: calendar days T-w+1 .. T -------------------------------------------------

def test_window_holds_calendar_days_t_minus_w_plus_1_to_t():
    # 7-day window at T=31 March: 25 March 00:00 .. 31 March 23:59:59
    events = frame("events", [("a", "2024-03-24T23:59:59Z", "x"), ("a", "2024-03-25T00:00:00Z", "x"),
                              ("a", "2024-03-31T23:59:59Z", "x"), ("a", "2024-04-01T00:00:00Z", "x")])
    tables = make_tables(events=events)
    inside = cutoffs.window(tables.events, "timestamp", T, 7)
    assert [str(t) for t in inside["timestamp"]] == ["2024-03-25 00:00:00", "2024-03-31 23:59:59"]


def test_window_gives_the_same_rows_on_unsorted_input():
    events = frame("events", [("a", "2024-03-24T23:59:59Z", "x"), ("a", "2024-03-25T00:00:00Z", "x"),
                              ("a", "2024-03-31T23:59:59Z", "x")])
    shuffled = make_tables(events=events).events.iloc[[2, 0, 1]]
    inside = cutoffs.window(shuffled, "timestamp", T, 7)
    assert sorted(str(t) for t in inside["timestamp"]) == ["2024-03-25 00:00:00", "2024-03-31 23:59:59"]


def test_age_in_days_is_zero_for_the_whole_cutoff_day():
    stamps = pd.Series(pd.to_datetime(["2024-03-31 00:00:00", "2024-03-31 23:59:59",
                                       "2024-03-30 23:59:59", "2024-03-25 00:00:00"]))
    # whole calendar days back from T: 0, 0, 1, 6
    assert cutoffs.age_in_days(stamps, T).tolist() == [0, 0, 1, 6]


def test_hours_until_end_of_cutoff_day():
    stamps = pd.Series(pd.to_datetime(["2024-03-31 20:00:00", "2024-03-30 00:00:00"]))
    # to 1 April 00:00: 4 h and 48 h
    assert cutoffs.hours_until_end_of(T, stamps).tolist() == [4.0, 48.0]


# --- active clients -----------------------------------------------------------------------------

def test_client_signed_up_after_cutoff_is_not_active():
    clients = frame("clients", [("a", "2024-03-31"), ("b", "2024-04-01")])
    tables = make_tables(clients)
    assert cutoffs.active_mask(tables.clients, tables.churn, T).tolist() == [True, False]


def test_client_churned_on_or_before_cutoff_is_not_active():
    churn = frame("churn", [("a", "2024-03-30"), ("b", "2024-03-31"), ("c", "2024-04-01")])
    tables = make_tables(churn=churn)
    # a left before T, b on T itself: both gone; c leaves the day after, still active at T
    assert cutoffs.active_mask(tables.clients, tables.churn, T).tolist() == [False, False, True]


# --- labels: 1 exactly when T < churned_at <= T + H ---------------------------------------------

def label_of(churned_at: str, horizon_days: int = 30) -> dict[str, int]:
    clients = frame("clients", [("a", "2024-01-01"), ("z", "2024-01-01")])
    tables = make_tables(clients, churn=frame("churn", [("a", churned_at)]))
    labels = features.label_frame(tables, [T], horizon_days)
    return dict(zip(labels["client_id"], labels["label"]))


def test_client_churned_on_cutoff_day_gets_no_label():
    # churned on T: already gone, so not a row at all (only z, who never churns)
    assert label_of("2024-03-31") == {"z": 0}


def test_churn_the_day_after_cutoff_is_label_1():
    assert label_of("2024-04-01") == {"a": 1, "z": 0}


def test_churn_on_last_day_of_horizon_is_label_1():
    # T + 30 days = 30 April
    assert label_of("2024-04-30") == {"a": 1, "z": 0}


def test_churn_one_day_past_horizon_is_label_0():
    # T + 31 days = 1 May
    assert label_of("2024-05-01") == {"a": 0, "z": 0}


def test_labels_are_all_0_without_a_churn_table():
    tables = make_tables()
    assert cutoffs.labels(tables.clients, None, T, 30).tolist() == [0, 0, 0]


def test_label_frame_lists_active_clients_per_cutoff():
    clients = frame("clients", [("a", "2024-01-01"), ("b", "2024-03-15")])
    tables = make_tables(clients, churn=frame("churn", [("a", "2024-03-10")]))
    labels = features.label_frame(tables, [pd.Timestamp("2024-03-01"), T], 30)
    # 1 March: a active and leaves on 10 March (1); b not signed up yet.
    # 31 March: a gone; b active, never leaves (0).
    assert labels.to_dict("list") == {"client_id": ["a", "b"],
                                      "cutoff": [pd.Timestamp("2024-03-01"), T],
                                      "label": [1, 0]}


# --- training cutoffs ---------------------------------------------------------------------------

def history_tables(churn_rows: list[tuple], last_event: str) -> features.Tables:
    """Four clients with behaviour logs from 1 Jan 2024 to `last_event`, and the given churn."""
    clients = frame("clients", [(c, "2024-01-01") for c in "abcd"])
    events = frame("events", [("a", "2024-01-01T09:00:00Z", "login"), ("b", last_event, "login")])
    return make_tables(clients, events=events, churn=frame("churn", churn_rows))


def test_training_cutoffs_drop_windows_ending_before_first_churn_and_say_so():
    tables = history_tables([("a", "2024-05-20")], "2024-06-30T12:00:00Z")
    plan = cutoffs.training_cutoffs(tables, pd.Timestamp("2024-06-30"), horizon_days=30, n_cutoffs=3,
                                    min_history_days=0, anchor="month_end")
    # latest cutoff: 30 June - 30 d = 31 May. Month ends 31 Mar, 30 Apr, 31 May; windows end
    # 30 Apr, 30 May, 30 Jun. 30 Apr < 20 May (first churn): 31 March is dropped.
    assert plan.cutoffs == (pd.Timestamp("2024-04-30"), pd.Timestamp("2024-05-31"))
    # a leaves on 20 May: inside (30 Apr, 30 May]; by 31 May a is gone
    assert plan.churners == (1, 0)
    assert len(plan.notes) == 1
    assert "1 cutoff(s) not used" in plan.notes[0]
    assert "ends before the first recorded churn (2024-05-20)" in plan.notes[0]


def test_training_cutoff_whose_window_ends_on_first_churn_is_kept():
    tables = history_tables([("a", "2024-04-30")], "2024-06-30T12:00:00Z")
    plan = cutoffs.training_cutoffs(tables, pd.Timestamp("2024-06-30"), horizon_days=30, n_cutoffs=3,
                                    min_history_days=0, anchor="month_end")
    # 31 March + 30 d = 30 April, the day of the first churn: that window sees it
    assert plan.cutoffs[0] == pd.Timestamp("2024-03-31")
    assert plan.churners[0] == 1
    assert plan.notes == ()


def test_training_cutoffs_need_min_history_of_behaviour_logs():
    tables = history_tables([("a", "2024-04-15"), ("b", "2024-05-15"), ("c", "2024-06-15")],
                            "2024-06-30T12:00:00Z")
    plan = cutoffs.training_cutoffs(tables, pd.Timestamp("2024-06-30"), horizon_days=30, n_cutoffs=3,
                                    min_history_days=90, anchor="month_end")
    # logs start 1 January; 1 Jan + 90 d = 31 March: 31 March is just old enough
    assert plan.cutoffs == (pd.Timestamp("2024-03-31"), pd.Timestamp("2024-04-30"), pd.Timestamp("2024-05-31"))
    plan = cutoffs.training_cutoffs(tables, pd.Timestamp("2024-06-30"), horizon_days=30, n_cutoffs=3,
                                    min_history_days=91, anchor="month_end")
    assert plan.cutoffs == (pd.Timestamp("2024-04-30"), pd.Timestamp("2024-05-31"))
    assert any("less than 91 days of behaviour history (logs start 2024-01-01)" in n for n in plan.notes)


def test_auto_anchor_keeps_month_ends_when_they_hold_churners():
    tables = history_tables([("a", "2024-04-15"), ("b", "2024-05-15"), ("c", "2024-06-15")],
                            "2024-06-30T12:00:00Z")
    plan = cutoffs.training_cutoffs(tables, pd.Timestamp("2024-06-30"), horizon_days=30, n_cutoffs=3,
                                    min_history_days=0)
    # 31 Mar holds a (15 Apr), 30 Apr holds b (15 May), 31 May holds c (15 Jun)
    assert plan.anchor == "month_end"
    assert plan.churners == (1, 1, 1)


def test_auto_anchor_reanchors_a_snapshot_whose_churn_is_on_the_last_day():
    # a snapshot: everyone who left is marked on the extract day, 15 June
    tables = history_tables([("a", "2024-06-15"), ("b", "2024-06-15")], "2024-06-15T12:00:00Z")
    plan = cutoffs.training_cutoffs(tables, pd.Timestamp("2024-06-15"), horizon_days=30, n_cutoffs=3,
                                    min_history_days=0)
    # month ends up to 15 June - 30 d = 16 May are 29 Feb, 31 Mar, 30 Apr: windows end by 30 May,
    # before 15 June, so none holds a churner. Re-anchored: 16 Mar, 16 Apr, 16 May; only 16 May's
    # window (16 May, 15 Jun] reaches the churn, the other two end before it and are dropped.
    assert plan.anchor == "data_end"
    assert plan.cutoffs == (pd.Timestamp("2024-05-16"),)
    assert plan.churners == (2,)
    assert "re-anchored so the latest 30-day window ends on the last day of data (2024-06-15)" in plan.notes[-1]
    assert "holding 2" in plan.notes[-1]


def test_latest_date_is_the_last_day_in_any_table():
    tables = make_tables(events=frame("events", [("a", "2024-04-02T23:00:00Z", "x")]),
                         tickets=frame("tickets", [("t1", "a", "2024-03-01T00:00:00Z", "2024-04-05T10:00:00Z")],
                                       "resolved_at"))
    assert cutoffs.latest_date(tables) == pd.Timestamp("2024-04-05")


def test_labels_are_int8_zero_or_one():
    tables = make_tables(churn=frame("churn", [("b", "2024-04-10")]))
    out = cutoffs.labels(tables.clients, tables.churn, T, 30)
    assert out.dtype == np.int8
    assert out.tolist() == [0, 1, 0]


def test_training_rows_attach_the_label_to_each_feature_row():
    tables = make_tables(churn=frame("churn", [("b", "2024-04-10")]))
    spec = features.fit_spec(tables, features.FeaturesConfig())
    rows = features.training_rows(tables, [T], spec, horizon_days=30)
    assert rows[["client_id", "label"]].to_dict("list") == {"client_id": ["a", "b", "c"], "label": [0, 1, 0]}


@pytest.mark.parametrize("cutoff", ["2024-03-31", "2024-03-31 15:00"])
def test_day_end_is_the_next_midnight(cutoff):
    assert cutoffs.day_end(pd.Timestamp(cutoff)) == pd.Timestamp("2024-04-01")
