"""The champion is compared on the new model's own rows, never on figures from other data.

The store is this module's own (it registers three models); the data is the shared generated
folder (tests/conftest.py), read-only. The fixture trains in order and records each result, so
neither test depends on the other having run.
"""

import json
import shutil
from pathlib import Path

import pytest
from mlflow import MlflowClient

from pipeline.config import load_config
from pipeline.jobs.train import train


@pytest.fixture(scope="module")
def store(folder_with_data, new_store):
    root = folder_with_data("champion")
    shutil.copytree(root / "data", root / "no_events", ignore=shutil.ignore_patterns("events.parquet"))
    uri = new_store(root / "mlflow.db")
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = {}
    # this module is about what the champion is compared on; the rule that a later model must also
    # beat the strongest baseline has its own tests (tests/models/test_champion_rule.py, test_champion.py), as
    # has the rule that a model lacking a source of the champion's stays challenger (test_fewer_sources.py);
    # nor does it need a good model or many rows: few rounds, no linear blend and 4 monthly cutoffs (the 2
    # latest validate) keep the three trainings quick
    config = load_config(None, {"training": {"champion_must_beat_baselines": False, "allow_fewer_sources": True,
                                             "max_boost_rounds": 30, "linear_blend": False,
                                             "n_cutoffs": 4}})
    for step, folder in (("first", "data"), ("second", "no_events"), ("again", "no_events")):
        runs[step] = train(root / folder, config=config, tracking_uri=uri, out=root / step)
        runs[step]["champion_after"] = str(client.get_model_version_by_alias("churn", "champion").version)
    return root, uri, runs


def test_a_champion_that_cannot_score_the_new_data_gives_way(store):
    _, _, runs = store
    first, second = runs["first"], runs["second"]
    assert first["champion"] and second["champion"]
    assert second["champion_decision"] == ("champion v1 could not be evaluated on this window; promoted although the "
                                           "new model lacks events, which champion v1 was trained with "
                                           "(training.allow_fewer_sources: true)")
    assert second["missing_sources"] == ["events"]
    assert second["model_version"] == second["champion_after"] == "2"


def test_same_data_and_window_compare_the_stored_figures(store, tmp_path):
    _, uri, runs = store
    again = runs["again"]
    # same data and seed: the same model, so it cannot beat the champion (margin 0, equal profit)
    assert not again["champion"] and again["champion_after"] == "2"
    assert again["champion_decision"].startswith("expected_profit ") and "does not beat champion v2" in \
        again["champion_decision"]
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    details = json.loads(Path(client.download_artifacts(again["run_id"], "champion_decision.json", str(tmp_path)))
                         .read_text(encoding="utf-8"))
    # the champion's figure is read back from its version's tag at full precision
    assert details["difference"] == 0.0 and details["compared_with"] == "2"
