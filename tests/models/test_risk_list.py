"""The list assembly on a tiny real LightGBM model: order, capacity, changes, and reasons."""

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.spec import FeatureSpec, FeaturesConfig
from models import risk_list
from models.bundle import ModelBundle
from models.playbook import load_playbook
from models.risk_list import ListOptions
from models.segments import SegmentsConfig

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
    assert summary["sort"] == "expected_value_at_risk"


def test_sort_by_probability(bundle):
    listed, _, _ = build(bundle, sort="probability")
    assert listed["client_id"].tolist() == ["a", "c", "d", "b"]


def test_capacity_exports_the_first_n_and_states_the_value_share_they_cover(bundle):
    listed, scored, summary = build(bundle, capacity=2)
    assert listed["client_id"].tolist() == ["b", "c"] and len(scored) == 4
    assert summary["value_at_risk_listed_share"] == pytest.approx(840 / 912, abs=1e-4)


def test_reasons_are_computed_only_for_exported_rows(bundle, monkeypatch):
    seen = []
    real = risk_list.contributions

    def spy(booster, rows, spec):
        seen.append(len(rows))
        return real(booster, rows, spec)

    monkeypatch.setattr(risk_list, "contributions", spy)
    build(bundle, capacity=2)
    assert seen == [2]


def test_open_tickets_reason_quotes_the_clients_count(bundle):
    listed, _, _ = build(bundle)
    reasons = dict(zip(listed["client_id"], listed["top_reasons"]))
    assert "3 tickets open" in reasons["a"]
    assert "tickets open" not in reasons["b"]  # no open ticket: it cannot raise b's risk


def test_previous_rank_and_new_on_list(bundle):
    previous = pd.DataFrame({"client_id": ["a", "b", "z"], "rank": [1, 2, 3]})
    listed, _, summary = build(bundle, previous=previous)
    by_id = listed.set_index("client_id")
    assert by_id.loc["b", "previous_rank"] == 2 and not by_id.loc["b", "new_on_list"]
    assert pd.isna(by_id.loc["c", "previous_rank"]) and by_id.loc["c", "new_on_list"]
    # today b 1, c 2, a 3, d 4: b rose from 2, a fell from 1, c and d are new, z left
    assert summary["changes"] == {"previous_available": True, "new_on_list": 2, "left_list": 1, "moved_up": 1,
                                  "moved_down": 1}


def test_portfolio_nps_and_replacement_cost(bundle):
    features = FEATURES.assign(nps_last_score=[10.0, 9.0, 3.0, np.nan])
    _, _, summary = risk_list.build(features, PROBABILITY, VALUE, bundle, SegmentsConfig(), PLAYBOOK, None,
                                    "2024-03-31", "7", ListOptions())
    # 3 answered: 2 promoters, 1 detractor -> NPS = (2 - 1) / 3 = 33.3
    assert summary["nps_portfolio"]["score"] == pytest.approx(33.3)
    # expected churners 0.75; replacing them costs 0.75 x 50 x 5
    assert summary["replacement_cost"] == pytest.approx(0.75 * 50 * 5)


def test_without_monthly_value_the_list_is_ranked_by_probability(bundle):
    listed, _, summary = risk_list.build(FEATURES, PROBABILITY, None, bundle, SegmentsConfig(), PLAYBOOK, None,
                                         "2024-03-31", "7", ListOptions())
    assert listed["client_id"].tolist() == ["a", "c", "d", "b"]
    assert summary["sort"] == "churn_probability" and summary["value_at_risk_total"] is None
