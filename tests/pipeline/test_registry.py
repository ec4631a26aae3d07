"""What the registry gives back is what training fitted: the calibrator survives registration
and is what turns the booster's raw score into `churn_probability`, in the pyfunc and the scorer.

Uses the session's shared model (tests/conftest.py), read-only.
"""

import json

import mlflow
import numpy as np
import pandas as pd
import pytest

from features import build_features
from models.calibration import Calibrator
from pipeline.config import load_config
from pipeline.data.contract import load_folder
from pipeline.tracking.registry import configure, load_model


@pytest.fixture(scope="module")
def registered(trained_store):
    configure(trained_store.tracking_uri)
    model = load_model(trained_store.model_uri)
    tables = load_folder(trained_store.data, quarantine_dir=None, max_rejected_share=1.0, require_churn=False).tables
    features = build_features(tables, [pd.Timestamp("2025-12-31")], model.bundle.spec)
    names = list(model.bundle.spec.feature_names)
    # the model's probability before calibration, by hand: the booster's log-odds straight from
    # LightGBM on the model's columns, blended with the logistic regression read from linear.json
    tree = model.bundle.booster.predict(features[names].to_numpy(dtype=np.float32), raw_score=True, num_threads=1)
    linear = model.bundle.linear
    if linear is None:
        return model, features, names, 1 / (1 + np.exp(-tree))
    x = features[names].to_numpy(dtype=float)

    def column(c):  # a value with missing ones set to the median, a missing indicator, a category's indicator
        v = x[:, c.feature]
        raw = {"value": np.where(np.isnan(v), c.level, v), "missing": np.isnan(v), "level": v == c.level}[c.kind]
        return (raw - c.centre) / c.scale

    margin = linear.intercept + sum(c.coefficient * column(c) for c in linear.columns)
    return model, features, names, 1 / (1 + np.exp(-(linear.weight * margin + (1 - linear.weight) * tree)))


def test_the_registered_model_holds_the_blend_the_training_run_chose(trained_store, registered):
    model = registered[0]
    run = mlflow.get_run(trained_store.result["run_id"])
    weight = float(run.data.params["linear_weight"])
    path = mlflow.artifacts.download_artifacts(run_id=trained_store.result["run_id"], artifact_path="linear_blend.json")
    with open(path, encoding="utf-8") as f:
        chosen = json.load(f)
    grades = chosen["inner_fold_roc_auc"]
    assert weight == chosen["chosen_weight"] == float(max(grades, key=lambda w: (grades[w], -float(w))))
    assert len(grades) == 7
    assert weight > 0, "on this data the inner fold blends the logistic regression in: the checks below need it"
    assert model.bundle.linear is not None and model.bundle.linear.weight == weight
    assert len(model.bundle.linear.columns) >= len(registered[2]) // 2  # numbers as data, not a pickled estimator


def test_the_registered_model_holds_the_calibrator_learnt_on_the_validation_fold(trained_store, registered):
    model, _, _, raw = registered
    calibrator = model.bundle.calibrator
    assert isinstance(calibrator, Calibrator) and calibrator.method == "sigmoid"  # the default config's
    # refit by hand on the validation fold's raw scores and labels, as logged by the training run
    path = mlflow.artifacts.download_artifacts(run_id=trained_store.result["run_id"],
                                               artifact_path="validation_predictions.parquet")
    valid = pd.read_parquet(path)
    by_hand = Calibrator("sigmoid").fit(valid["probability_uncalibrated"].to_numpy(), valid["label"].to_numpy())
    np.testing.assert_allclose(calibrator.transform(raw), by_hand.transform(raw), rtol=0, atol=1e-9)


def test_the_pyfunc_churn_probability_is_the_calibrated_score(registered):
    model, features, names, raw = registered
    expected = model.bundle.calibrator.transform(raw)
    got = model.pyfunc.predict(features[names].astype(np.float32))["churn_probability"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.abs(got - raw).max() > 0.01  # calibration moved the scores: the check above can tell them apart


def test_the_scorer_lists_the_calibrated_score(trained_store, registered, tmp_path):
    from pipeline.jobs.score import score

    model, features, _, raw = registered
    result = score(trained_store.data, out=tmp_path / "risk", config=load_config(None),
                   tracking_uri=trained_store.tracking_uri, model_uri=trained_store.model_uri)
    assert result["as_of"] == "2025-12-31"
    listed = pd.read_parquet(tmp_path / "risk" / "current" / "scores.parquet")
    listed = listed.assign(client_id=listed["client_id"].astype(str)).set_index("client_id")["churn_probability"]
    expected = pd.Series(model.bundle.calibrator.transform(raw), index=features["client_id"].astype(str))
    assert sorted(listed.index) == sorted(expected.index)  # every active client, once, in the scored file
    sheet = pd.read_parquet(tmp_path / "risk" / "risk_list.parquet").set_index("client_id")["churn_probability"]
    assert 0 < len(sheet) == result["clients_listed"] < len(listed)  # the call sheet: its head
    np.testing.assert_array_equal(sheet.to_numpy(), listed.reindex(sheet.index).to_numpy())
    np.testing.assert_allclose(listed.to_numpy(), expected.reindex(listed.index).round(6).to_numpy(), rtol=0,
                               atol=1e-12)
    assert np.abs(listed.to_numpy() - pd.Series(raw, index=expected.index).reindex(listed.index)).max() > 0.01


def test_the_training_run_lists_every_feature_with_its_declaration(trained_store, registered):
    """MLflow's feature list is the declarations', in the model's feature order."""
    model = registered[0]
    path = mlflow.artifacts.download_artifacts(run_id=trained_store.result["run_id"], artifact_path="features.json")
    with open(path, encoding="utf-8") as f:
        listed = json.load(f)
    assert [r["feature"] for r in listed] == list(model.bundle.spec.feature_names)
    by_name = {r["feature"]: r for r in listed}
    assert by_name["tickets_open"] == {
        "feature": "tickets_open", "source": "tickets", "family": "support", "window_days": None, "unit": "count",
        "higher_value": "raises risk", "actionable": True, "meaning_en": "open tickets",
        "meaning_es": "tickets abiertos"}
    assert by_name["error_count_30d"]["family"] == "errors" and by_name["tenure_days"]["actionable"] is False
