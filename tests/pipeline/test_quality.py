"""Where trees should win, the registered model beats the logistic regression on the same rows.

The `interactions` profile makes churn from effects that only combine (a basic plan with many
errors, a team plan with few; an SLA breach only for an unhappy client): a linear model on the
same features cannot draw them. Small fixed-seed data; the full comparison on every profile is
`make bench-quality` (benchmarks/RESULTS.md).
"""

from pipeline.config import load_config
from pipeline.jobs.train import train
from pipeline.synth.generator import generate


def test_on_interactions_the_model_beats_the_logistic_regression(tmp_path, new_store):
    generate(tmp_path / "data", n_clients=2000, seed=5, profile="interactions")
    result = train(tmp_path / "data", config=load_config(None), tracking_uri=new_store(tmp_path / "mlflow.db"),
                   out=tmp_path / "train")
    model, linear = result["metrics"]["roc_auc"], result["baselines"]["logistic regression"]["roc_auc"]
    assert model > linear + 0.03, (model, linear)
    assert result["strongest_baseline"]["model_minus_baseline"] > 0


def test_on_a_snapshot_the_model_is_not_below_the_logistic_regression(tmp_path, new_store):
    """A snapshot's churn is additive (the logistic regression's own form): the model may not lose
    to it by more than 0.005 ROC AUC on the same held-out clients."""
    generate(tmp_path / "data", n_clients=5000, seed=1, profile="snapshot")
    result = train(tmp_path / "data", config=load_config(None), tracking_uri=new_store(tmp_path / "mlflow.db"),
                   out=tmp_path / "train")
    model, linear = result["metrics"]["roc_auc"], result["baselines"]["logistic regression"]["roc_auc"]
    assert result["validation"]["kind"] == "by_client"
    assert model > linear - 0.005, (model, linear)
