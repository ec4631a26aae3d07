"""The tuning job on small generated data: nested MLflow runs, and a config `train` accepts."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from pipeline.config import AppConfig, load_config
from pipeline.jobs.train import train
from pipeline.jobs.tune import tune

TRIALS = 3
pytestmark = pytest.mark.slow
# the defaults but for the number of trees, the linear blend and 6 monthly cutoffs instead of 12 (the 3 folds
# validate on the latest 3, each training on the cutoffs before it): what is checked here (nested runs, the
# folds, trial 0, the written config and `train` taking it) does not depend on how good the trees are
CONFIG = AppConfig().model_copy(update={"training": AppConfig().training.model_copy(
    update={"max_boost_rounds": 30, "linear_blend": False, "n_cutoffs": 6})})


@pytest.fixture(scope="module")
def tuned(folder_with_data, new_store):
    # the shared data (tests/conftest.py), read-only; a store of its own: the tests register a model
    root = folder_with_data("tune")
    uri = new_store(root / "mlflow.db")
    result = tune(root / "data", config=CONFIG, tracking_uri=uri, until=None, trials=TRIALS, timeout=None,
                  out_config=root / "tuned.yaml", out=root / "tune")
    return root, uri, result


def test_every_trial_is_a_nested_run_under_the_tuning_run(tuned):
    _, uri, result = tuned
    client = MlflowClient(tracking_uri=uri)
    parent = client.get_run(result["run_id"])
    children = client.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{result['run_id']}'")
    assert parent.data.tags["kind"] == "tuning"
    assert len(children) == TRIALS == result["trials_completed"]
    assert {c.data.tags["trial_number"] for c in children} == {"0", "1", "2"}
    assert all("roc_auc" in c.data.metrics and "lgbm_num_leaves" in c.data.params for c in children)
    assert parent.data.metrics["best_roc_auc"] == pytest.approx(max(c.data.metrics["roc_auc"] for c in children))


def test_folds_validate_out_of_time_on_the_latest_churn_cutoffs(tuned):
    _, _, result = tuned
    assert result["validation"]["kind"] == "rolling_origin"
    assert len(result["validation"]["cutoffs"]) == 3
    assert result["validation"]["cutoffs"] == sorted(result["validation"]["cutoffs"])


def test_trial_0_is_the_configured_parameters_graded_as_a_separate_evaluation_grades_them(tuned):
    import json

    import mlflow

    from models.tuning import TUNED_PARAMS, evaluate_params, rolling_origin_folds
    from pipeline.jobs.train import prepare_training

    root, uri, result = tuned
    mlflow.set_tracking_uri(uri)
    trials = json.loads(mlflow.artifacts.load_text(f"runs:/{result['run_id']}/trials.json"))
    configured = CONFIG.training
    baseline = trials[0]
    assert baseline["number"] == 0
    assert baseline["params"] == {k: v for k, v in configured.lightgbm.model_dump().items() if k in TUNED_PARAMS}
    prepared = prepare_training(root / "data", config=CONFIG, until=None, out=root / "again")
    folds = rolling_origin_folds(prepared.rows, 3, configured)
    again = evaluate_params(prepared.rows, prepared.spec, configured, baseline["params"], folds)
    assert baseline["roc_auc"] == pytest.approx(again["roc_auc"], abs=1e-12)
    assert baseline["fold_roc_auc"] == pytest.approx(again["fold_roc_auc"], abs=1e-12)
    assert result["baseline_value"] == round(baseline["roc_auc"], 6)  # the summary rounds to 6 places
    assert result["best_value"] == round(max(t["roc_auc"] for t in trials), 6)


def test_written_config_holds_the_best_params_and_keeps_the_rest(tuned):
    _, _, result = tuned
    config = load_config(result["config_path"])
    lightgbm = config.training.lightgbm.model_dump()
    assert {k: lightgbm[k] for k in result["best_params"]} == result["best_params"]
    assert config.model_copy(update={"training": CONFIG.training}) == CONFIG
    # the training settings tuning ran with (fewer trees, no blend) are kept too, the parameters aside
    assert config.training.model_copy(update={"lightgbm": CONFIG.training.lightgbm}) == CONFIG.training


def test_train_accepts_the_tuned_config(tuned):
    root, uri, result = tuned
    trained = train(root / "data", config=load_config(result["config_path"]), tracking_uri=uri,
                         out=root / "train")
    assert trained["run_id"]
    run = MlflowClient(tracking_uri=uri).get_run(trained["run_id"])
    assert int(run.data.params["lgbm_num_leaves"]) == result["best_params"]["num_leaves"]
