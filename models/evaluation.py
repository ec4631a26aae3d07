"""How good a model is, in the terms a data scientist and a retention team care about.

Ranking (ROC AUC, PR AUC, lift and cumulative gains), probability quality (Brier, log loss,
expected calibration error, reliability), and money: the expected-profit curve of contacting
the top k% (the idea behind the EMP measure for churn models), its best cut, and the value
saved at the team's capacity. Pure: arrays in, numbers and tables out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import brier_score_loss, log_loss

from models.metrics import classification_metrics

SHARES = (0.05, 0.10, 0.20)


class EvaluationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # what contacting one client costs (call, discount, time)
    retention_cost_per_contact: float = Field(10.0, ge=0)
    # share of contacted would-be churners the offer keeps
    offer_acceptance_rate: float = Field(0.3, ge=0, le=1)
    # value of a kept client: monthly_value x months when known, else this default
    client_value_months: float = Field(12.0, gt=0)
    default_client_value: float = Field(500.0, ge=0)
    # clients the team can contact per list: a count from 1, a share of the scored clients below 1,
    # None for every client. Set from `scoring.capacity` (pipeline.config): one setting for the call
    # sheet and for its grading
    team_capacity: float | None = Field(0.05, gt=0, exclude=True)  # not written back: scoring.capacity is
    calibration_bins: int = Field(10, ge=2)


def clients_at_capacity(capacity: float | None, clients: int) -> int:
    """How many of `clients` a team of `capacity` reaches: a count when >= 1, a share when below 1
    (at least one client), every client when None."""
    if clients <= 0:
        return 0
    if capacity is None:
        return clients
    if not capacity > 0:
        raise ValueError(f"capacity must be a count >= 1 or a share in (0, 1), got {capacity}")
    wanted = capacity if capacity >= 1 else capacity * clients
    return int(min(clients, max(1, round(wanted))))


def worth_contacting(probability: np.ndarray, client_value: np.ndarray, config: EvaluationConfig) -> np.ndarray:
    """True where a contact is worth its cost: probability x offer_acceptance_rate x the client's value
    (monthly value x client_value_months, see `client_values`) above retention_cost_per_contact."""
    gain = np.asarray(probability, float) * config.offer_acceptance_rate * np.asarray(client_value, float)
    return gain > config.retention_cost_per_contact


def profit_cut(probability: np.ndarray, client_value: np.ndarray, config: EvaluationConfig) -> int:
    """The profit-optimal length of a list already in calling order: up to its last client worth contacting."""
    worth = np.flatnonzero(worth_contacting(probability, client_value, config))
    return int(worth[-1] + 1) if len(worth) else 0


def expected_calibration_error(label: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Mean |observed rate - mean probability| over equal-width bins, weighted by their rows."""
    y, p = np.asarray(label, float), np.asarray(probability, float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return float(total / len(y)) if len(y) else float("nan")


def reliability_table(label: np.ndarray, probability: np.ndarray, bins: int = 10,
                      strategy: str = "quantile") -> pd.DataFrame:
    """Observed rate vs mean probability per bin. Equal-size bins by default: with rare churn,
    equal-width bins put nearly every client in the first one."""
    y, p = np.asarray(label, float), np.asarray(probability, float)
    if strategy == "quantile":
        which = np.minimum((pd.Series(p).rank(method="first", pct=True).to_numpy() * bins).astype(int), bins - 1)
    else:
        which = np.minimum((p * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "y": y, "p": p}).groupby("bin").agg(
        rows=("y", "size"), observed_rate=("y", "mean"), mean_probability=("p", "mean"))
    return frame.reset_index()


def gains_table(label: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Cumulative gains and lift for every top-k cut (rows sorted by probability, stable)."""
    y = np.asarray(label, float)
    order = np.argsort(-np.asarray(probability, float), kind="stable")
    caught = np.cumsum(y[order])
    k = np.arange(1, len(y) + 1)
    base = y.mean() if len(y) else np.nan
    return pd.DataFrame({"contacted": k, "share": k / len(y), "churners_caught": caught,
                         "gain": caught / max(y.sum(), 1), "lift": (caught / k) / base if base else np.nan})


def profit_curve(label: np.ndarray, probability: np.ndarray, value: np.ndarray, config: EvaluationConfig
                 ) -> pd.DataFrame:
    """Profit of contacting the top k clients, for every k.

    A contacted churner is kept with probability `offer_acceptance_rate` and saves its value;
    every contact costs `retention_cost_per_contact`.
    """
    y = np.asarray(label, float)
    v = np.asarray(value, float)
    order = np.argsort(-np.asarray(probability, float), kind="stable")
    saved = np.cumsum(y[order] * v[order] * config.offer_acceptance_rate)
    k = np.arange(1, len(y) + 1)
    return pd.DataFrame({"contacted": k, "share": k / len(y), "value_saved": saved,
                         "cost": k * config.retention_cost_per_contact,
                         "profit": saved - k * config.retention_cost_per_contact})


def client_values(monthly_value: np.ndarray | None, n: int, config: EvaluationConfig) -> np.ndarray:
    if monthly_value is None:
        return np.full(n, config.default_client_value)
    v = np.asarray(monthly_value, float) * config.client_value_months
    return np.where(np.isnan(v), config.default_client_value, v)


def evaluate(label: np.ndarray, probability: np.ndarray, value: np.ndarray, config: EvaluationConfig,
             ranking: np.ndarray | None = None) -> dict[str, float]:
    """Every figure of a model on labelled rows: the probability figures (Brier, log loss, ECE) of
    `probability`, the ranking figures (ROC and PR AUC, lift, gains, profit of the top k) of
    `ranking`, which is `probability` unless given."""
    y, p = np.asarray(label), np.asarray(probability, float)
    r = p if ranking is None else np.asarray(ranking, float)
    out = classification_metrics(y, r)
    out["brier"] = float(brier_score_loss(y, p))
    out["log_loss"] = float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]))
    out["ece"] = expected_calibration_error(y, p, config.calibration_bins)
    gains = gains_table(y, r)
    for share in SHARES:
        k = max(1, int(round(len(y) * share)))
        out[f"lift_at_{int(share * 100)}pct"] = float(gains["lift"].iloc[k - 1])
        out[f"gain_at_{int(share * 100)}pct"] = float(gains["gain"].iloc[k - 1])
    profit = profit_curve(y, r, value, config)
    best = int(profit["profit"].to_numpy().argmax())
    out["expected_profit"] = float(max(profit["profit"].iloc[best], 0.0))
    out["profit_best_share"] = float(profit["share"].iloc[best]) if profit["profit"].iloc[best] > 0 else 0.0
    k = max(1, clients_at_capacity(config.team_capacity, len(y)))
    out["value_saved_at_capacity"] = float(profit["value_saved"].iloc[k - 1])
    out["profit_at_capacity"] = float(profit["profit"].iloc[k - 1])
    return out
