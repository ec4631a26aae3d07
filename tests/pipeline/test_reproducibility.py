"""Same data, config and seed: the same metrics and the same model bytes; a new seed differs."""


import pytest

from models import fit
from pipeline.config import load_config
from pipeline.jobs.train import prepare_training

# the default config but for the number of trees and of monthly cutoffs (6, the 2 latest validating):
# whether two preparations and two fits agree byte for byte does not depend on how many trees they grow
# or on how many rows (early stopping, the linear blend and calibration all still run)
FEW_TREES = {"training": {"max_boost_rounds": 50, "n_cutoffs": 6}}


@pytest.fixture(scope="module")
def prepared(folder_with_data):
    root = folder_with_data("repro")  # the shared data (tests/conftest.py), read-only
    config = load_config(None, FEW_TREES)
    return root, config, prepare_training(root / "data", config=config, until=None, out=root / "out")


@pytest.fixture(scope="module")
def fitted(prepared):
    """The fit of the prepared rows with the module's config, made once for both tests."""
    _, config, data = prepared
    return fit(data.rows, data.spec, config.training)


def test_same_inputs_give_the_same_model_bytes_and_metrics(prepared, fitted):
    root, config, data = prepared
    again = prepare_training(root / "data", config=config, until=None, out=root / "out")
    assert data.rows.equals(again.rows)
    first, second = fitted, fit(again.rows, again.spec, config.training)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    assert first.metrics == second.metrics
    assert (first.valid_probability == second.valid_probability).all()
    # what the few cutoffs and trees keep: a validation split, a calibrator and the blend's inner-fold grades
    assert first.calibrator is not None and first.blend_grades == second.blend_grades and first.blend_grades


def test_another_seed_gives_another_model(prepared, fitted):
    _, config, data = prepared
    other = config.model_copy(update={"training": config.training.model_copy(update={"seed": 7})})
    assert fitted.booster.model_to_string() != fit(data.rows, data.spec, other.training).booster.model_to_string()
