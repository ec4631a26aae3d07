"""How a published list actually did: realised ranking and capacity figures once its horizon has passed.

A list scored at cutoff T with horizon H matures when the data reaches T + H: every churn that
could make a label is then known. Its figures use exactly the training label
(`features.cutoffs.labels`: T < churned_at <= T + H, in whole days) on churn known at the
later as-of, so they measure the model the way it was validated. Pure: frames in, numbers out.
"""

from __future__ import annotations

import math
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.metrics import roc_auc_score

from features.cutoffs import day_end, labels
from models.evaluation import clients_at_capacity

MONITORING_COLUMNS: tuple[str, ...] = (
    "list_as_of", "horizon_days", "evaluated_at", "clients", "churners", "base_rate", "roc_auc", "capacity",
    "precision_at_capacity", "lift_at_capacity", "recall_at_capacity", "model_version",
)
_KEY = ["list_as_of", "evaluated_at"]


class MonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # None switches a check off
    min_roc_auc: float | None = Field(0.60, ge=0, le=1)
    min_lift_at_capacity: float | None = Field(1.5, ge=0)
    min_precision_at_capacity: float | None = Field(None, ge=0, le=1)
    # what the caller does on a breach; breaches() only reports
    on_breach: Literal["warn", "stop"] = "warn"


def matured(list_as_of: pd.Timestamp, horizon_days: int, data_as_of: pd.Timestamp) -> bool:
    """True when data known at `data_as_of` covers the whole label window (T, T + H] of the list."""
    return day_end(list_as_of) + pd.Timedelta(days=horizon_days) <= day_end(data_as_of)


def judged_at(as_of: pd.Timestamp, data_end: pd.Timestamp | None) -> pd.Timestamp:
    """The day earlier lists are judged at: the run's as-of, or the latest day the tables hold when that
    is earlier (an as-of past the data knows no churn after the data ends)."""
    as_of = pd.Timestamp(as_of).normalize()
    return as_of if data_end is None else min(as_of, pd.Timestamp(data_end).normalize())


def not_matured(list_as_of: pd.Timestamp, horizon_days: int, data_end: pd.Timestamp) -> str:
    """What to say of a list whose label window the data does not cover yet."""
    list_as_of = pd.Timestamp(list_as_of).normalize()
    return (f"the {list_as_of.date()} list is not yet matured: its {horizon_days}-day window ends "
            f"{(list_as_of + pd.Timedelta(days=horizon_days)).date()}, the data ends "
            f"{pd.Timestamp(data_end).date()}; not graded")


def _check_scores(scores: pd.DataFrame) -> None:
    missing = [c for c in ("client_id", "churn_probability", "rank") if c not in scores]
    if missing:
        raise ValueError(f"scores lack column(s) {', '.join(missing)}")
    if not len(scores):
        raise ValueError("scores hold no client")
    if scores["client_id"].duplicated().any():
        raise ValueError("scores hold a client_id more than once")
    # the team calls in rank order, so "the top k" is only defined when ranks are 1..n
    if sorted(scores["rank"].tolist()) != list(range(1, len(scores) + 1)):
        raise ValueError(f"scores ranks must be 1..{len(scores)}, each once")


def realised(scores: pd.DataFrame, churn: pd.DataFrame | None, list_as_of: pd.Timestamp, horizon_days: int,
             data_as_of: pd.Timestamp, capacity: int | float, model_version: str = "") -> dict:
    """Realised figures of the list scored at `list_as_of`, judged on churn known at `data_as_of`.

    A scored client absent from `churn` did not churn. Precision, lift and recall count the
    clients of rank <= the contacted count; ROC AUC and lift are nan when they are undefined.
    """
    list_as_of, data_as_of = pd.Timestamp(list_as_of).normalize(), pd.Timestamp(data_as_of).normalize()
    if not matured(list_as_of, horizon_days, data_as_of):
        raise ValueError(f"the {list_as_of.date()} list ({horizon_days}-day horizon) has not matured by "
                         f"{data_as_of.date()}: its window ends "
                         f"{(list_as_of + pd.Timedelta(days=horizon_days)).date()}")
    _check_scores(scores)
    if churn is not None:
        # point in time: a churn row dated after the later as-of was not known when judging
        churn = churn[churn["churned_at"] < day_end(data_as_of)]
    y = labels(scores, churn, list_as_of, horizon_days).astype(int)
    p = scores["churn_probability"].to_numpy(dtype=float)
    clients, churners = len(y), int(y.sum())
    k = clients_at_capacity(capacity, clients)  # a count when >= 1, a share of the list when < 1
    caught = int(y[scores["rank"].to_numpy() <= k].sum())
    base_rate = churners / clients
    precision = caught / k
    return {
        "list_as_of": str(list_as_of.date()),
        "horizon_days": int(horizon_days),
        "evaluated_at": str(data_as_of.date()),
        "clients": clients,
        "churners": churners,
        "base_rate": float(base_rate),
        "roc_auc": float(roc_auc_score(y, p)) if 0 < churners < clients else float("nan"),
        "capacity": k,
        "precision_at_capacity": float(precision),
        "lift_at_capacity": float(precision / base_rate) if base_rate else float("nan"),
        "recall_at_capacity": float(caught / churners) if churners else float("nan"),
        "model_version": str(model_version),
    }


def breaches(figures: dict, config: MonitoringConfig) -> list[str]:
    """One plain-English line per threshold the realised figures fall below.

    A nan figure (one class only, no churner) is not a breach: there is nothing to judge.
    """
    checks = (("ROC AUC", "roc_auc", "min_roc_auc"),
              ("lift at capacity", "lift_at_capacity", "min_lift_at_capacity"),
              ("precision at capacity", "precision_at_capacity", "min_precision_at_capacity"))
    lines = []
    for label, figure, threshold in checks:
        limit, value = getattr(config, threshold), figures[figure]
        if limit is None or value is None or math.isnan(value) or value >= limit:
            continue
        lines.append(f"realised {label} {value:.2f} of the {figures['list_as_of']} list is below "
                     f"{threshold} {limit:.2f}")
    return lines


def _dates_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    # monitoring.csv may come back with parsed dates; keys compare and sort as YYYY-MM-DD text
    return frame.assign(**{c: pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d") for c in _KEY})


def append_row(existing: pd.DataFrame | None, figures: dict) -> pd.DataFrame:
    """monitoring.csv after adding one evaluation.

    A row is keyed by (list_as_of, evaluated_at): rerunning the same evaluation replaces its
    row, while a later evaluation of the same list adds a row beside the earlier one, so the
    history shows how a list's figures settled. Rows are sorted by list_as_of then evaluated_at,
    columns follow MONITORING_COLUMNS; the same inputs give the same frame.
    """
    if set(figures) != set(MONITORING_COLUMNS):
        raise ValueError(f"figures must hold exactly {', '.join(MONITORING_COLUMNS)}")
    row = _dates_as_text(pd.DataFrame([figures], columns=list(MONITORING_COLUMNS)))
    if existing is None or not len(existing):
        combined = row
    else:
        if set(existing.columns) != set(MONITORING_COLUMNS):
            raise ValueError(f"monitoring columns {sorted(existing.columns)} differ from "
                             f"{list(MONITORING_COLUMNS)}")
        old = _dates_as_text(existing[list(MONITORING_COLUMNS)])
        same = (old["list_as_of"] == row["list_as_of"].iloc[0]) & (old["evaluated_at"] == row["evaluated_at"].iloc[0])
        combined = pd.concat([old[~same.to_numpy()], row], ignore_index=True)
    return combined.sort_values(_KEY, kind="stable").reset_index(drop=True)
