"""Validation metrics: ranking quality (ROC AUC, PR AUC, lift) and probability quality (Brier)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

HIGHER_IS_BETTER = {"roc_auc": True, "pr_auc": True, "top_decile_lift": True, "brier": False, "log_loss": False,
                    "expected_profit": True, "value_saved_at_capacity": True}


def top_share_lift(y: np.ndarray, p: np.ndarray, share: float = 0.1) -> float:
    """Churn rate among the `share` highest scores divided by the overall churn rate."""
    y = np.asarray(y, dtype=float)
    base = y.mean()
    if base == 0:
        return float("nan")
    k = max(1, int(round(len(y) * share)))
    # stable order on ties so the figure does not depend on row order
    top = np.argsort(-np.asarray(p), kind="stable")[:k]
    return float(y[top].mean() / base)


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "top_decile_lift": top_share_lift(y, p, 0.1),
        "positives": float(y.sum()),
        "rows": float(len(y)),
    }


def is_better(metric: str, new: float, old: float, margin: float = 0.0) -> bool:
    """True when `new` beats `old` by more than `margin` in the metric's own direction."""
    if np.isnan(new):
        return False
    if np.isnan(old):
        return True
    return new > old + margin if HIGHER_IS_BETTER[metric] else new < old - margin


def paired_bootstrap_auc_difference(y: np.ndarray, a: np.ndarray, b: np.ndarray, groups: np.ndarray,
                                    draws: int = 1000, seed: int = 0) -> np.ndarray:
    """ROC AUC of `a` minus ROC AUC of `b` on `draws` bootstrap resamples of the same rows.

    Paired: both scores are graded on each resample. Clustered: whole groups (clients, who appear
    once per validation cutoff) are drawn with replacement, so a client's rows move together. A
    resample holding a single class is drawn again.
    """
    y, a, b = np.asarray(y), np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    codes, uniques = pd.factorize(pd.Series(groups).astype(str))
    rows_of = pd.Series(np.arange(len(y))).groupby(codes).apply(np.asarray).to_numpy()
    rng = np.random.default_rng(seed)
    out = np.empty(draws)
    k = 0
    while k < draws:
        picked = np.concatenate(rows_of[rng.integers(0, len(uniques), len(uniques))])
        if len(np.unique(y[picked])) < 2:
            continue
        out[k] = roc_auc_score(y[picked], a[picked]) - roc_auc_score(y[picked], b[picked])
        k += 1
    return out
