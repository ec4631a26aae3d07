"""Client attributes: tenure, monthly value, and the clients table's own extra columns."""

import numpy as np
import pandas as pd
from features_testkit import T, build_one, frame, make_tables, spec_for

from features import clients


def test_tenure_days_counts_calendar_days_since_signup():
    out = build_one(clients, make_tables(frame("clients", [("a", "2024-03-31"), ("b", "2024-03-30"),
                                                           ("c", "2024-01-01")])))
    # signed up on T: 0; the day before: 1; 1 Jan -> 31 Mar: 31 + 29 + 30 = 90
    assert out["tenure_days"].to_dict() == {"a": 0, "b": 1, "c": 90}


def test_monthly_value_passes_through_and_missing_stays_missing():
    out = build_one(clients, make_tables(frame("clients", [("a", "2024-01-01", "49.5"), ("b", "2024-01-01", None)],
                                               "monthly_value")))
    assert out.loc["a", "monthly_value"] == 49.5
    assert np.isnan(out.loc["b", "monthly_value"])


def test_numeric_attribute_becomes_a_numeric_feature():
    out = build_one(clients, make_tables(frame("clients", [("a", "2024-01-01", "3"), ("b", "2024-01-01", "10")],
                                               "Seats")))
    assert out["client_seats"].to_dict() == {"a": 3, "b": 10}


def test_categorical_attribute_becomes_level_codes_ordered_by_frequency():
    tables = make_tables(frame("clients", [("a", "2024-01-01", "basic"), ("b", "2024-01-01", "pro"),
                                           ("c", "2024-01-01", "pro")], "plan"))
    spec = spec_for(tables)
    # pro (2 clients) before basic (1)
    assert spec.category_levels == {"client_plan": ("pro", "basic")}
    out = build_one(clients, tables, spec=spec)
    assert out["client_plan"].to_dict() == {"a": 1, "b": 0, "c": 0}


def test_category_unseen_at_training_reads_as_missing_at_scoring():
    training = make_tables(frame("clients", [("a", "2024-01-01", "basic"), ("b", "2024-01-01", "pro")], "plan"))
    spec = spec_for(training)
    scoring = make_tables(frame("clients", [("a", "2024-01-01", "enterprise"), ("b", "2024-01-01", "pro")], "plan"))
    out = build_one(clients, scoring, spec=spec)
    assert np.isnan(out.loc["a", "client_plan"])
    assert out.loc["b", "client_plan"] == spec.category_levels["client_plan"].index("pro")


def test_attribute_missing_from_scoring_data_reads_as_missing():
    training = make_tables(frame("clients", [("a", "2024-01-01", "basic", "3"), ("b", "2024-01-01", "pro", "4")],
                                 "plan", "seats"))
    spec = spec_for(training)
    out = build_one(clients, make_tables(frame("clients", [("a", "2024-01-01")])), spec=spec)
    assert out.loc["a", ["client_plan", "client_seats"]].isna().all()


def test_identifier_like_string_column_is_ignored_with_a_reason():
    # 4 distinct e-mails for 4 clients: more than max_category_levels (2) and more than half the clients
    rows = [(c, "2024-01-01", f"{c}@example.com", "basic" if c < "c" else "pro") for c in "abcd"]
    tables = make_tables(frame("clients", rows, "email", "plan"))
    spec = spec_for(tables, max_category_levels=2)
    assert spec.ignored_columns == {"email": "looks like an identifier (4 distinct values)"}
    out = build_one(clients, tables, spec=spec)
    assert "email" not in out.columns
    assert "client_plan" in out.columns


def test_single_valued_string_column_is_ignored_with_a_reason():
    tables = make_tables(frame("clients", [("a", "2024-01-01", "EU"), ("b", "2024-01-01", "EU")], "region"))
    assert spec_for(tables).ignored_columns == {"region": "a single value for every client"}


def test_attribute_named_like_a_built_in_feature_is_renamed():
    tables = make_tables(frame("clients", [("a", "2024-01-01", "7"), ("b", "2024-01-01", "8")], "tenure_days"))
    spec = spec_for(tables)
    out = build_one(clients, tables, spec=spec)
    # the computed tenure keeps its name; attributes always read client_<column>
    assert spec.numeric_attributes == {"tenure_days": "client_tenure_days"}
    assert out.loc["a", ["tenure_days", "client_tenure_days"]].tolist() == [90, 7]


def test_one_row_per_client_indexed_by_client_id():
    out = build_one(clients, make_tables())
    assert out.index.name == "client_id"
    assert out.index.tolist() == ["a", "b", "c"]


def test_builder_does_not_mutate_its_input():
    tables = make_tables(frame("clients", [("a", "2024-01-01", "basic"), ("b", "2024-01-01", "pro")], "plan"))
    before = tables.clients.copy()
    build_one(clients, tables, pd.Timestamp(T))
    pd.testing.assert_frame_equal(tables.clients, before)


def test_attribute_named_like_another_sources_feature_cannot_collide():
    import features as feature_api

    tables = make_tables(frame("clients", [("a", "2024-01-01", "7"), ("b", "2024-01-01", "8")], "tickets_open"))
    spec = spec_for(tables)
    rows = feature_api.build_features(tables, [pd.Timestamp("2024-03-31")], spec)
    assert rows.columns.is_unique
    assert rows.set_index("client_id").loc["a", "client_tickets_open"] == 7
