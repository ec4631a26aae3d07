"""Same data, config and seed: the same metrics and the same model bytes; a new seed differs."""


import pytest

from models import fit
from pipeline.config import load_config
from pipeline.jobs.train import prepare_training


@pytest.fixture(scope="module")
def prepared(folder_with_data):
    root = folder_with_data("repro")  # the shared data (tests/conftest.py), read-only
    config = load_config(None)
    return root, config, prepare_training(root / "data", config=config, until=None, out=root / "out")


def test_same_inputs_give_the_same_model_bytes_and_metrics(prepared):
    root, config, data = prepared
    again = prepare_training(root / "data", config=config, until=None, out=root / "out")
    assert data.rows.equals(again.rows)
    first, second = fit(data.rows, data.spec, config.training), fit(again.rows, again.spec, config.training)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    assert first.metrics == second.metrics
    assert (first.valid_probability == second.valid_probability).all()


def test_another_seed_gives_another_model(prepared):
    _, config, data = prepared
    other = config.model_copy(update={"training": config.training.model_copy(update={"seed": 7})})
    assert fit(data.rows, data.spec, config.training).booster.model_to_string() != \
        fit(data.rows, data.spec, other.training).booster.model_to_string()
