"""The Dask fit's validation curve, computed on the driver: LightGBM's own binary_logloss, round by round."""

import lightgbm as lgb
import numpy as np

from models.distributed import log_loss, round_losses


def _fitted(rounds: int):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 6)).astype(np.float32)
    y = (x[:, 0] + rng.normal(size=3000) > 0.5).astype(float)
    record: dict = {}
    params = {"objective": "binary", "verbosity": -1, "num_leaves": 7, "seed": 1, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(x[:2000], y[:2000]), rounds, valid_sets=[lgb.Dataset(x[2000:], y[2000:])],
                        callbacks=[lgb.record_evaluation(record)])
    return booster, x[2000:], y[2000:], record["valid_0"]["binary_logloss"]


def test_round_losses_are_lightgbms_own_validation_curve():
    booster, x, y, curve = _fitted(40)
    losses, raw = round_losses(booster, x, y, np.zeros(len(x)), 0)
    assert np.allclose(losses, curve, rtol=0, atol=1e-12)
    assert np.allclose(raw, booster.predict(x, raw_score=True), atol=1e-12)


def test_round_losses_continue_from_an_earlier_chunk():
    booster, x, y, curve = _fitted(40)
    first = lgb.Booster(model_str=booster.model_to_string(num_iteration=15))
    head, raw = round_losses(first, x, y, np.zeros(len(x)), 0)
    tail, _ = round_losses(booster, x, y, raw, 15)
    assert len(head) == 15 and len(tail) == 25
    assert np.allclose(head + tail, curve, rtol=0, atol=1e-12)
    assert round_losses(booster, x, y, raw, 40) == ([], raw)


def test_log_loss_by_hand():
    # p = 0.5 for both rows: -log(0.5) each
    assert abs(log_loss(np.array([1.0, 0.0]), np.array([0.0, 0.0])) - np.log(2)) < 1e-15
