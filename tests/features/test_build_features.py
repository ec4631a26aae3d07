"""The entry point: one row per active client per cutoff, the same call for training and scoring."""

import logging

import numpy as np
import pandas as pd
import pytest
from features_testkit import T, frame, make_tables, spec_for

import features
from features import ContractError

EVENTS = frame("events", [("a", "2024-03-30T10:00:00Z", "checkout"), ("b", "2024-03-31T10:00:00Z", "Página vista")])
SURVEYS = frame("surveys", [("a", "2024-03-20T10:00:00Z", "8")])
TICKETS = frame("tickets", [("t1", "b", "2024-03-25T10:00:00Z", None)], "resolved_at")


def test_clients_only_tables_still_build():
    # third-party data: a client list and who left, no behaviour logs
    tables = make_tables(churn=frame("churn", [("c", "2024-03-01")]))
    spec = spec_for(tables)
    out = features.build_features(tables, [T], spec)
    assert spec.sources == ()
    assert out.columns.tolist() == ["client_id", "cutoff", "tenure_days"]
    assert out["client_id"].tolist() == ["a", "b"]


@pytest.mark.parametrize("present", [("events",), ("surveys",), ("tickets",), ("events", "tickets")])
def test_any_subset_of_behaviour_logs_builds(present):
    logs = {"events": EVENTS, "surveys": SURVEYS, "tickets": TICKETS}
    tables = make_tables(**{name: logs[name] for name in present})
    spec = spec_for(tables)
    out = features.build_features(tables, [T], spec)
    assert spec.sources == present
    assert len(out) == 3
    assert ("nps_last_score" in out.columns) == ("surveys" in present)
    assert ("tickets_open" in out.columns) == ("tickets" in present)
    assert ("events_count_7d" in out.columns) == ("events" in present)


@pytest.mark.parametrize("missing", ["events", "surveys", "tickets"])
def test_scoring_without_a_table_the_model_was_trained_with_names_the_table(missing):
    training = make_tables(events=EVENTS, surveys=SURVEYS, tickets=TICKETS)
    spec = spec_for(training)
    scoring = training.replace(**{missing: None})
    with pytest.raises(ContractError, match=f"trained with the '{missing}' table and needs it for its features; "
                                            f"add {missing}.csv"):
        features.build_features(scoring, [T], spec)
    # the nightly scorer asks for a stop (exit 3) rather than a bad-input error
    from features.errors import GateStop

    with pytest.raises(GateStop, match=f"'{missing}' table"):
        features.build_features(scoring, [T], spec, missing="stop")


def test_contract_error_for_a_missing_table_carries_the_file():
    spec = spec_for(make_tables(events=EVENTS))
    with pytest.raises(ContractError) as raised:
        features.build_features(make_tables(), [T], spec)
    assert raised.value.file == "events"
    assert str(raised.value).startswith("events: ")


def test_one_row_per_active_client_per_cutoff():
    clients = frame("clients", [("a", "2024-01-01"), ("b", "2024-03-15"), ("c", "2024-01-01")])
    tables = make_tables(clients, churn=frame("churn", [("c", "2024-03-31")]))
    out = features.build_features(tables, [pd.Timestamp("2024-03-01"), T], spec_for(tables))
    # 1 March: a, c (b not signed up yet). 31 March: a, b (c left on T)
    assert list(zip(out["client_id"], out["cutoff"].dt.strftime("%Y-%m-%d"))) == [
        ("a", "2024-03-01"), ("c", "2024-03-01"), ("a", "2024-03-31"), ("b", "2024-03-31")]


def test_features_are_float32_after_the_key_columns():
    tables = make_tables(events=EVENTS)
    spec = spec_for(tables)
    out = features.build_features(tables, [T], spec)
    assert out.columns[:2].tolist() == list(features.KEY_COLUMNS)
    assert (out.dtypes.iloc[2:] == np.float32).all()
    assert out.columns[2:].tolist() == list(spec.feature_names)


def test_first_build_fixes_the_feature_order_and_scoring_reuses_it():
    training = make_tables(events=EVENTS, surveys=SURVEYS)
    spec = spec_for(training)
    trained = features.build_features(training, [T], spec)
    # scoring data whose events hold only a type never seen before
    scoring = make_tables(events=frame("events", [("a", "2024-04-10T10:00:00Z", "Nuevo tipo")]), surveys=SURVEYS)
    scored = features.build_features(scoring, [pd.Timestamp("2024-04-10")], spec)
    assert scored.columns.tolist() == trained.columns.tolist()
    assert scored.set_index("client_id").loc["a", ["checkout_count_7d", "events_count_7d"]].tolist() == [0, 1]


def test_feature_the_scoring_data_cannot_provide_reads_as_missing_with_a_warning(caplog):
    training = make_tables(tickets=frame("tickets", [("t1", "a", "2024-03-25T10:00:00Z", "high")], "priority"))
    spec = spec_for(training)
    features.build_features(training, [T], spec)
    # the scoring extract has no priority column: no high-priority share can be computed
    scoring = make_tables(tickets=frame("tickets", [("t1", "a", "2024-03-25T10:00:00Z")]))
    with caplog.at_level(logging.WARNING, logger="features"):
        out = features.build_features(scoring, [T], spec)
    assert out["high_priority_ticket_share_90d"].isna().all()
    assert "high_priority_ticket_share_90d" in caplog.text


def test_categorical_features_are_the_attributes_and_the_nps_group():
    tables = make_tables(frame("clients", [("a", "2024-01-01", "basic"), ("b", "2024-01-01", "pro")], "plan"),
                         surveys=SURVEYS.iloc[:0])
    assert features.categorical_features(spec_for(tables)) == ["client_plan", "nps_last_group"]


def test_build_features_does_not_mutate_its_input():
    tables = make_tables(events=EVENTS, surveys=SURVEYS, tickets=TICKETS)
    before = {name: df.copy() for name, df in tables.present().items()}
    features.build_features(tables, [T], spec_for(tables))
    for name, df in tables.present().items():
        pd.testing.assert_frame_equal(df, before[name])
