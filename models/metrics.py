"""Validation metrics: ranking quality (ROC AUC, PR AUC, lift) and probability quality (Brier)."""

from __future__ import annotations

import numpy as np
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
