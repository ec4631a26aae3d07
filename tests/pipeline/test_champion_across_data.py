"""The champion is compared on the new model's own rows, never on figures from other data."""

import shutil

import pandas as pd
import pytest
from mlflow import MlflowClient

from pipeline.config import load_config
from pipeline.synth.generator import generate
from pipeline.jobs.train import train


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("champion")
    generate(root / "full", n_clients=1200, seed=8)
    shutil.copytree(root / "full", root / "no_events")
    (root / "no_events" / "events.parquet").unlink()
    return root, f"sqlite:///{root / 'mlflow.db'}"


def test_a_champion_that_cannot_score_the_new_data_gives_way(store):
    root, uri = store
    first = train(root / "full", config=load_config(None), tracking_uri=uri, out=root / "t1")
    second = train(root / "no_events", config=load_config(None), tracking_uri=uri, out=root / "t2")
    assert first["champion"] and second["champion"]
    assert "could not be evaluated" in second["champion_decision"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias("churn", "champion").version) == second["model_version"]


def test_same_data_and_window_compare_the_stored_figures(store):
    root, uri = store
    again = train(root / "no_events", config=load_config(None), tracking_uri=uri, out=root / "t3")
    # same data and seed: the same model, so it cannot beat the champion (margin 0, equal profit)
    assert not again["champion"] and "does not beat" in again["champion_decision"]
    tags = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version("churn", again["model_version"]).tags
    assert float(tags["difference"]) == pytest.approx(0.0)
