"""The list assembly on a tiny real LightGBM model: order, capacity, changes, and reasons."""

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.spec import FeaturesConfig, FeatureSpec
from models import risk_list
from models.bundle import ModelBundle
from models.evaluation import EvaluationConfig
from models.playbook import Playbook, load_playbook
from models.risk_list import ListOptions
from models.segments import SegmentsConfig
from models.summary import Changes, ListSummary

PLAYBOOK = load_playbook(Path(__file__).resolve().parents[2] / "configs" / "playbook.yaml")


@pytest.fixture(scope="module")
def bundle() -> ModelBundle:
    rng = np.random.default_rng(0)
    names = ["tickets_open", "tenure_days"]
    x = np.column_stack([rng.integers(0, 4, 2000), rng.integers(0, 900, 2000)]).astype(np.float32)
    y = (rng.random(2000) < 0.05 + 0.2 * x[:, 0]).astype(int)
    booster = lgb.train({"objective": "binary", "verbosity": -1, "num_threads": 1, "seed": 1},
                        lgb.Dataset(x, y, feature_name=names), num_boost_round=20)
    spec = FeatureSpec(config=FeaturesConfig(), sources=("tickets",), optional_columns={})
    spec.feature_names = tuple(names)
    return ModelBundle(booster=booster, spec=spec)


FEATURES = pd.DataFrame({"client_id": ["a", "b", "c", "d"], "cutoff": pd.Timestamp("2024-03-31"),
                         "tickets_open": [3.0, 0.0, 2.0, 0.0], "tenure_days": [400.0, 400.0, 30.0, 400.0]})
PROBABILITY = np.array([0.40, 0.05, 0.20, 0.10])
VALUE = pd.Series([10.0, 1000.0, 100.0, 20.0], index=["a", "b", "c", "d"])


def build(bundle, previous=None, **options):
    return risk_list.build(FEATURES, PROBABILITY, VALUE, bundle, SegmentsConfig(), PLAYBOOK, previous,
                           "2024-03-31", "7", ListOptions(**options))


def test_sorted_by_expected_value_at_risk_by_default(bundle):
    listed, _, summary = build(bundle)
    # value at risk = p x value x 12: a 48, b 600, c 240, d 24
    assert listed["client_id"].tolist() == ["b", "c", "a", "d"]
    assert listed["expected_value_at_risk"].tolist() == [600.0, 240.0, 48.0, 24.0]
    assert listed["rank"].tolist() == [1, 2, 3, 4]
    assert summary.sort == "expected_value_at_risk"


def test_sort_by_probability(bundle):
    listed, _, _ = build(bundle, sort="probability")
    assert listed["client_id"].tolist() == ["a", "c", "d", "b"]


def test_capacity_exports_the_first_n_and_states_the_value_share_they_cover(bundle):
    listed, scored, summary = build(bundle, capacity=2)
    assert listed["client_id"].tolist() == ["b", "c"] and len(scored) == 4
    # b 600 and c 240 of 912, rounded to four decimals
    assert summary.value_at_risk_listed_share == 0.9211


def test_reasons_are_computed_only_for_exported_rows(bundle, monkeypatch):
    seen = []
    real = risk_list.contributions

    def spy(booster, rows, *rest):
        seen.append(len(rows))
        return real(booster, rows, *rest)

    monkeypatch.setattr(risk_list, "contributions", spy)
    build(bundle, capacity=2)
    assert seen == [2]


def test_open_tickets_reason_quotes_the_clients_count(bundle):
    listed, _, _ = build(bundle)
    reasons = dict(zip(listed["client_id"], listed["top_reasons"]))
    # b and d have no open ticket: it cannot raise their risk, and tenure never does here
    assert reasons == {"a": "3 open tickets", "b": "", "c": "2 open tickets", "d": ""}


def test_previous_rank_and_new_on_list(bundle):
    previous = pd.DataFrame({"client_id": ["a", "b", "z"], "rank": [1, 2, 3]})
    listed, _, summary = build(bundle, previous=previous)
    by_id = listed.set_index("client_id")
    assert by_id.loc["b", "previous_rank"] == 2 and not by_id.loc["b", "new_on_list"]
    assert pd.isna(by_id.loc["c", "previous_rank"]) and by_id.loc["c", "new_on_list"]
    # today b 1, c 2, a 3, d 4: b rose from 2, a fell from 1, c and d are new, z left
    assert summary.changes == Changes(previous_available=True, new_on_list=2, left_list=1, moved_up=1,
                                      moved_down=1)


def test_on_the_list_since_carries_over_a_stay_and_restarts_after_a_break(bundle):
    # a has been on every list since January; b was on the last one only; z left; c and d are new today
    previous = pd.DataFrame({"client_id": ["a", "b", "z"], "rank": [1, 2, 3], "as_of": "2024-02-29",
                             "on_list_since": ["2024-01-31", "2024-02-29", "2023-12-31"]})
    listed, _, _ = build(bundle, previous=previous)
    by_id = listed.set_index("client_id")
    assert by_id["on_list_since"].to_dict() == {"b": "2024-02-29", "c": "2024-03-31", "a": "2024-01-31",
                                                "d": "2024-03-31"}
    assert by_id["days_on_list"].to_dict() == {"b": 31, "c": 0, "a": 60, "d": 0}
    # a list written before the column existed counts from its own day
    listed, _, _ = build(bundle, previous=previous.drop(columns="on_list_since"))
    assert listed.set_index("client_id")["days_on_list"].to_dict() == {"b": 31, "c": 0, "a": 31, "d": 0}
    # no previous list: everyone starts today
    listed, _, _ = build(bundle)
    assert set(listed["on_list_since"]) == {"2024-03-31"} and set(listed["days_on_list"]) == {0}


def test_tenure_is_context_never_a_reason(bundle):
    listed, _, _ = build(bundle)
    context = dict(zip(listed["client_id"], listed["client_context"]))
    assert context == {"a": "client for 13 months", "b": "client for 13 months", "c": "client for 30 days",
                       "d": "client for 13 months"}
    assert not listed["top_reasons"].str.contains("client for").any()


def test_portfolio_nps_and_replacement_cost(bundle):
    features = FEATURES.assign(nps_last_score=[10.0, 9.0, 3.0, np.nan])
    _, _, summary = risk_list.build(features, PROBABILITY, VALUE, bundle, SegmentsConfig(), PLAYBOOK, None,
                                    "2024-03-31", "7", ListOptions())
    # 3 answered: 2 promoters, 1 detractor -> NPS = (2 - 1) / 3 = 33.3
    assert summary.nps_portfolio.score == 33.3
    assert (summary.nps_portfolio.answered, summary.nps_portfolio.counts) == (3, (2, 0, 1, 1))
    # expected churners 0.75; replacing them costs 0.75 x 50 x 5
    assert (summary.expected_churners, summary.replacement_cost) == (0.75, 187.5)


def test_without_monthly_value_the_list_is_ranked_by_probability(bundle):
    listed, _, summary = risk_list.build(FEATURES, PROBABILITY, None, bundle, SegmentsConfig(), PLAYBOOK, None,
                                         "2024-03-31", "7", ListOptions())
    assert listed["client_id"].tolist() == ["a", "c", "d", "b"]
    assert summary.sort == "churn_probability" and not summary.has_monthly_value
    assert (summary.value_at_risk_total, summary.value_at_risk_listed, summary.value_at_risk_listed_share) == (
        None, None, None)


# ------------------------------------------------------------------------------------ where the call sheet ends

def contact(cost: float) -> EvaluationConfig:
    return EvaluationConfig(retention_cost_per_contact=cost, offer_acceptance_rate=0.5, client_value_months=12)


@pytest.mark.parametrize(("cost", "listed", "limited_by"), [
    # worth of a contact = p x 0.5 x value x 12: b 300, c 120, a 24, d 12 (the list's order)
    (10.0, ["b", "c", "a", "d"], ""),
    (20.0, ["b", "c", "a"], "profit"),
    (30.0, ["b", "c"], "profit"),
    (500.0, [], "profit"),
])
def test_the_call_sheet_ends_at_the_last_client_worth_a_contact(bundle, cost, listed, limited_by):
    got, scored, summary = build(bundle, contact=contact(cost))
    assert got["client_id"].tolist() == listed
    assert len(scored) == 4  # every scored client stays in the scored frame
    assert (summary.clients_listed, summary.profitable_clients, summary.limited_by) == (len(listed), len(listed),
                                                                                        limited_by)
    assert summary.clients_beyond_cut == 4 - len(listed)
    # value at risk: b 600, c 240, a 48, d 24
    assert summary.value_at_risk_beyond_cut == {4: 0.0, 3: 24.0, 2: 72.0, 0: 912.0}[len(listed)]


def test_the_smaller_of_capacity_and_the_profit_cut_wins(bundle):
    listed, _, summary = build(bundle, capacity=0.5, contact=contact(20.0))  # half of 4 = 2; profit: 3
    assert listed["client_id"].tolist() == ["b", "c"]
    assert (summary.capacity_clients, summary.profitable_clients, summary.limited_by) == (2, 3, "capacity")
    listed, _, summary = build(bundle, capacity=3, contact=contact(30.0))  # capacity 3; profit: 2
    assert listed["client_id"].tolist() == ["b", "c"] and summary.limited_by == "profit"


def test_without_monthly_value_the_default_client_value_prices_a_contact(bundle):
    # 500 each: worth = p x 0.5 x 500: a 100, c 50, d 25, b 12.5 (ranked by probability)
    listed, _, _ = risk_list.build(FEATURES, PROBABILITY, None, bundle, SegmentsConfig(), PLAYBOOK, None,
                                   "2024-03-31", "7", ListOptions(contact=EvaluationConfig(
                                       retention_cost_per_contact=30, offer_acceptance_rate=0.5,
                                       default_client_value=500)))
    assert listed["client_id"].tolist() == ["a", "c"]


# ------------------------------------------------------------------------------------ the summary as a dict

# one rule per action, so the dict does not hang on the shipped playbook's wording
SMALL_PLAYBOOK = Playbook.model_validate({
    "actions": {"call": {"en": "Call", "es": "Llamar", "capacity": 100}, "email": {"en": "Email", "es": "Correo"}},
    "rules": [{"action": "call", "when": {"risk_band": ["medium"]}}],
    "default_action": "email",
})


def test_summary_dict_keeps_the_keys_the_score_job_returns(bundle):
    previous = pd.DataFrame({"client_id": ["a", "b", "z"], "rank": [1, 2, 3]})
    _, _, summary = risk_list.build(FEATURES, PROBABILITY, VALUE, bundle, SegmentsConfig(), SMALL_PLAYBOOK,
                                    previous, "2024-03-31", "7", ListOptions(capacity=2))
    assert isinstance(summary, ListSummary)
    as_dict = summary.to_dict()
    # listed: b (600, low band, 400 days: client), c (240, medium band, 30 days: new buyer); a and z left,
    # b rose from 2 to 1, c is new; value at risk a 48, b 600, c 240, d 24
    assert as_dict == {
        "lang": "en", "sort": "expected_value_at_risk", "capacity": 2, "clients_scored": 4, "clients_listed": 2,
        "capacity_clients": 2, "profitable_clients": 4, "limited_by": "capacity", "clients_beyond_cut": 2,
        "value_at_risk_beyond_cut": 72.0,
        "has_monthly_value": True, "value_horizon_months": 12, "value_at_risk_total": 912.0,
        "value_at_risk_listed": 840.0, "value_at_risk_listed_share": 0.9211,
        "by_band_listed": [{"risk_band": "high", "clients": 0, "value_at_risk": 0.0},
                           {"risk_band": "medium", "clients": 1, "value_at_risk": 240.0},
                           {"risk_band": "low", "clients": 1, "value_at_risk": 600.0}],
        "by_band_portfolio": [{"risk_band": "high", "clients": 1, "value_at_risk": 48.0},
                              {"risk_band": "medium", "clients": 2, "value_at_risk": 264.0},
                              {"risk_band": "low", "clients": 1, "value_at_risk": 600.0}],
        "by_quadrant_listed": [{"value_quadrant": "retain now", "clients": 0, "value_at_risk": 0.0},
                               {"value_quadrant": "keep and grow", "clients": 2, "value_at_risk": 840.0},
                               {"value_quadrant": "develop", "clients": 0, "value_at_risk": 0.0},
                               {"value_quadrant": "maintain at low cost", "clients": 0, "value_at_risk": 0.0}],
        "by_loyalty_listed": [{"loyalty_stage": "new buyer", "clients": 1, "value_at_risk": 240.0},
                              {"loyalty_stage": "client", "clients": 1, "value_at_risk": 600.0},
                              {"loyalty_stage": "frequent client", "clients": 0, "value_at_risk": 0.0},
                              {"loyalty_stage": "advocate", "clients": 0, "value_at_risk": 0.0},
                              {"loyalty_stage": "promoter", "clients": 0, "value_at_risk": 0.0}],
        "nps_portfolio": {"score": None, "answered": 0, "promoter": 0, "passive": 0, "detractor": 0,
                          "no answer": 4},
        "nps_listed": {"score": None, "answered": 0, "promoter": 0, "passive": 0, "detractor": 0, "no answer": 2},
        "top_reasons": [{"reason": "open tickets", "feature": "tickets_open", "clients": 1}],
        "actions": [{"action": "Call", "key": "call", "clients": 1, "capacity": 100},
                    {"action": "Email", "key": "email", "clients": 1, "capacity": None}],
        "expected_churners": 0.75, "acquisition_to_retention_cost_ratio": 5, "retention_cost_per_client": 50,
        "replacement_cost": 187.5, "retention_cost_listed": 100,
        "changes": {"previous_available": True, "new_on_list": 1, "left_list": 2, "moved_up": 1, "moved_down": 0},
        "as_of": "2024-03-31", "model_version": "7",
        "reason_features": [{"feature": "tickets_open", "label": "open tickets", "family": "support tickets",
                             "higher_value": "raises the risk"}],
    }
    assert list(as_dict) == list(ListSummary.__dataclass_fields__)  # the order the JSON result shows
    assert json.loads(json.dumps(as_dict)) == as_dict  # plain JSON values, nothing to convert


def test_without_a_previous_list_the_changes_dict_holds_only_what_is_known(bundle):
    _, _, summary = build(bundle)
    assert summary.changes.to_dict() == {"previous_available": False, "new_on_list": 4}
