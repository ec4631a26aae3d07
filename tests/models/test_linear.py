"""The linear part of the blend: a logistic regression held as numbers, its terms, its weight."""

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from models.explain import contributions
from models.linear import WEIGHTS, Column, LinearPart, blend, choose_weight, fit_linear


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 2_000
    x = rng.normal(size=(n, 3))
    x[rng.random(n) < 0.2, 1] = np.nan  # a feature with missing values
    margin = 1.5 * x[:, 0] - np.nan_to_num(x[:, 1], nan=1.0) - 1.0
    label = (rng.random(n) < 1 / (1 + np.exp(-margin))).astype(int)
    return pd.DataFrame(x, columns=["a", "b", "c"]), label


def test_a_hand_computed_part():
    part = LinearPart(("x", "kind"), (Column(0, "value", 2.0, 1.0, 2.0, 0.5),
                                      Column(0, "missing", 0.0, 0.25, 0.5, 1.0),
                                      Column(1, "level", 3.0, 0.5, 0.5, -2.0)), intercept=-1.0, weight=0.4)
    rows = pd.DataFrame({"x": [5.0, np.nan], "kind": [3.0, 1.0]})
    # row 1: 0.5 x (5 - 1) / 2 + 1.0 x (0 - 0.25) / 0.5 = 0.5; kind: -2 x (1 - 0.5) / 0.5 = -2
    # row 2: 0.5 x (2 - 1) / 2 + 1.0 x (1 - 0.25) / 0.5 = 1.75; kind: -2 x (0 - 0.5) / 0.5 = 2
    np.testing.assert_allclose(part.terms(rows), [[0.5, -2.0], [1.75, 2.0]])
    np.testing.assert_allclose(part.margin(rows), [-2.5, 2.75])
    assert LinearPart.from_dict(json.loads(json.dumps(part.to_dict()))) == part


def test_numbers_match_scikit_learns_pipeline_and_terms_are_centred(frame):
    features, label = frame
    part = fit_linear(features, label, ["a", "b", "c"], [], seed=0)
    reference = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler(),
                              LogisticRegression(max_iter=2000, random_state=0)).fit(features.to_numpy(), label)
    np.testing.assert_allclose(part.margin(features), reference.decision_function(features.to_numpy()), atol=1e-4)
    np.testing.assert_allclose(part.terms(features).mean(axis=0), 0.0, atol=1e-9)  # zero on the average row
    assert part.terms(features)[:, 0].std() > part.terms(features)[:, 2].std()  # a carries the signal, c none


def test_a_category_gets_one_indicator_per_level_and_an_unseen_level_counts_as_none():
    features = pd.DataFrame({"plan": [0.0, 1.0, 2.0, 0.0, 1.0, 2.0] * 50})
    label = np.array([0, 1, 0, 0, 1, 1] * 50)  # churn: plan 1 always, plan 2 half the time, plan 0 never
    part = fit_linear(features, label, ["plan"], ["plan"], seed=0)
    assert sorted(c.level for c in part.columns) == [0.0, 1.0, 2.0]
    margin = part.margin(pd.DataFrame({"plan": [0.0, 1.0, 2.0, 7.0]}))
    assert margin[1] > margin[2] > margin[0]  # not the codes' order: each level its own weight
    assert margin[0] < margin[3] < margin[1]  # a new level: every indicator 0


def test_the_weight_is_the_inner_folds_best_and_prefers_the_trees_on_a_tie():
    label = np.array([0, 0, 1, 1, 0, 1])
    good = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.7])
    bad = np.array([90.0, 10.0, 20.0, 30.0, 80.0, 10.0])  # large: any share of it spoils the order
    assert choose_weight(label, good, bad)[0] == 1.0
    assert choose_weight(label, bad, good)[0] == 0.0
    weight, grades = choose_weight(label, good, good)
    assert weight == 0.0 and set(grades) == set(WEIGHTS)
    assert choose_weight(np.zeros(6), good, bad) == (0.0, {})


def test_contributions_of_a_blend_add_up_to_its_log_odds(frame):
    features, label = frame
    names = ["a", "b", "c"]
    booster = lgb.train({"objective": "binary", "num_leaves": 4, "verbosity": -1, "seed": 1},
                        lgb.Dataset(features.to_numpy(np.float32), label=label, feature_name=names), 20)
    part = fit_linear(features, label, names, [], seed=0).with_weight(0.4)

    class Spec:
        feature_names = names

    got = contributions(booster, features, Spec, part)
    tree = booster.predict(features.to_numpy(np.float32), raw_score=True)
    bias = booster.predict(features.to_numpy(np.float32), pred_contrib=True)[:, -1]
    expected = blend(part.margin(features), tree, 0.4)
    np.testing.assert_allclose(got.sum(axis=1) + 0.6 * bias + 0.4 * part.intercept, expected, atol=1e-5)
