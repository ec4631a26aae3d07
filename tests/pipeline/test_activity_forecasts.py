"""A model trained with activity forecasts (`training.activity_forecasts`, models.forecasts), end to end:
registered as data, its probability rebuilt by hand from the stored parts, scored into a list whose
reasons never name a forecast."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from features import build_features
from pipeline.config import load_config
from pipeline.data.contract import load_folder
from pipeline.tracking.registry import configure, load_model

FORECASTS = {"training": {"activity_forecasts": True}}


@pytest.fixture(scope="module")
def forecasting(generated_data, new_store, tmp_path_factory):
    from pipeline.jobs.train import train

    root = tmp_path_factory.mktemp("forecasts")
    uri = new_store(root / "mlflow.db")
    result = train(generated_data, config=load_config(None, FORECASTS), tracking_uri=uri, out=root / "train")
    configure(uri)
    return root, uri, result, load_model(result["model_uri"])


def test_the_registered_model_holds_its_forecasters_as_data(forecasting):
    root, uri, result, model = forecasting
    forecast, names = model.bundle.forecast, list(model.bundle.spec.feature_names)
    assert forecast is not None and forecast.inputs == tuple(names)  # they read the model's features ...
    assert set(forecast.sources) <= set(names) and len(forecast.sources) >= 3  # ... and forecast its counts
    assert all(len(folds) == 3 for folds in forecast.boosters)
    assert model.bundle.booster.feature_name() == names + list(forecast.names)
    assert mlflow.get_run(result["run_id"]).data.params["activity_forecasts"] == str(len(forecast.sources))
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=result["model_uri"], dst_path=str(root / "m")))
    found = list(folder.rglob("forecasts.json"))
    assert len(found) == 1  # LightGBM's text inside JSON, beside booster.txt; nothing pickled
    stored = json.loads(found[0].read_text(encoding="utf-8"))
    assert stored["sources"] == list(forecast.sources)
    assert all(text.startswith("tree\n") for folds in stored["boosters"] for text in folds)
    assert not list(folder.rglob("*.pkl")) and not list(folder.rglob("*.pickle"))


def test_the_pyfunc_probability_is_rebuilt_by_hand_from_the_stored_parts(generated_data, forecasting):
    _, _, _, model = forecasting
    bundle = model.bundle
    tables = load_folder(generated_data, quarantine_dir=None, max_rejected_share=1.0, require_churn=False).tables
    features = build_features(tables, [pd.Timestamp("2025-12-31")], bundle.spec)
    names = list(bundle.spec.feature_names)
    # forecasts: log(1 + the mean of each type's fold boosters) on the model's features
    columns = features.copy()
    inputs = columns[list(bundle.forecast.inputs)].to_numpy(dtype=np.float32)
    for name, boosters in zip(bundle.forecast.names, bundle.forecast.boosters):
        columns[name] = np.log1p(np.mean([b.predict(inputs, num_threads=1) for b in boosters], axis=0))
    read = names + list(bundle.forecast.names)
    margin = bundle.booster.predict(columns[read].to_numpy(dtype=np.float32), raw_score=True, num_threads=1)
    if bundle.linear is not None:
        margin = bundle.linear.weight * bundle.linear.margin(columns) + (1 - bundle.linear.weight) * margin
    expected = bundle.calibrator.transform(1 / (1 + np.exp(-margin)))
    got = model.pyfunc.predict(features[names].astype(np.float32))["churn_probability"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)
    # the forecasts move the model: without them (set to their mean) the probabilities differ
    flat = columns.assign(**{n: columns[n].mean() for n in bundle.forecast.names})
    other = bundle.booster.predict(flat[read].to_numpy(dtype=np.float32), raw_score=True, num_threads=1)
    assert np.abs(other - bundle.booster.predict(columns[read].to_numpy(dtype=np.float32), raw_score=True,
                                                 num_threads=1)).max() > 0.01


def test_a_forecasting_models_list_gives_reasons_and_never_names_a_forecast(generated_data, forecasting):
    from models.explain import contributions
    from pipeline.jobs.score import score

    root, uri, result, model = forecasting
    out = score(generated_data, out=root / "list", config=load_config(None, FORECASTS), tracking_uri=uri,
                model_uri=result["model_uri"])
    assert out["clients_scored"] > 0
    listed = pd.read_csv(root / "list" / "risk_list.csv", encoding="utf-8-sig")
    text = listed.to_csv(index=False)
    assert "forecast" not in text.lower()
    reasons = [c for c in listed.columns if "reason" in c.lower()]
    assert reasons and listed[reasons[0]].notna().any()
    # a forecast's contribution is said as its source count's: the folded contributions add up the same
    bundle = model.bundle
    rows = build_features(load_folder(generated_data, quarantine_dir=None, max_rejected_share=1.0,
                                      require_churn=False).tables, [pd.Timestamp("2025-12-31")], bundle.spec).head(50)
    folded = contributions(bundle.booster, rows, bundle.spec, None, bundle.forecast)
    assert folded.shape == (len(rows), len(bundle.spec.feature_names))
    whole = bundle.booster.predict(bundle.forecast.augment(rows)[bundle.inputs].to_numpy(dtype=np.float32),
                                   pred_contrib=True)
    np.testing.assert_allclose(folded.sum(axis=1), whole[:, :-1].sum(axis=1), atol=1e-9)


def test_by_default_forecasts_wait_for_enough_client_months(trained_store):
    """`activity_forecasts: auto`: the suite's 1,500 clients give fewer rows with a known next month than
    models.forecasts.AUTO_MIN_ROWS, so the default model is fitted without them (and says 0 types)."""
    from models.forecasts import AUTO_MIN_ROWS

    assert load_config(None).training.activity_forecasts == "auto"
    configure(trained_store.tracking_uri)
    model = load_model(trained_store.model_uri)
    assert model.bundle.forecast is None
    assert not any(n.endswith("_forecast_next_30d") for n in model.bundle.booster.feature_name())
    assert mlflow.get_run(trained_store.result["run_id"]).data.params["activity_forecasts"] == "0"
    assert AUTO_MIN_ROWS > 15_000  # more than the 1,500 clients x 10 months the suite's data holds
