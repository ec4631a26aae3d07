"""The linear part of the model: a logistic regression blended with the trees, stored as numbers.

Where churners are few or the signal is additive, a logistic regression ranks as well as boosted
trees or better; where effects combine, the trees win. The model blends the two on the log-odds
scale, `weight x linear + (1 - weight) x trees`, with the weight chosen on an inner out-of-time
fold of the training rows (`choose_weight`), so the validation window that grades the model never
chooses it. A weight of 0 is the trees alone.

The regression is held as plain numbers (`to_dict` / `from_dict`, JSON in the registry): each
design column standardised on the training rows (numbers: value with missing values set to the
median, plus a missing-value indicator; categories: one indicator per level seen), so a
feature's term `coefficient x (column - centre) / scale` is zero on the average training row and
explains like a tree contribution does. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

WEIGHTS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)  # the blend weights `choose_weight` grades
REGULARISATION_C = 1.0  # scikit-learn's default inverse strength, on standardised columns


@dataclass(frozen=True)
class Column:
    """One design column: `kind` value | missing | level of feature `feature` (an index)."""

    feature: int
    kind: str
    level: float  # the category code for kind "level", else the median that fills missing values
    centre: float
    scale: float
    coefficient: float = 0.0

    def values(self, x: np.ndarray) -> np.ndarray:
        """The standardised column from the feature's raw values."""
        if self.kind == "value":
            raw = np.where(np.isnan(x), self.level, x)
        elif self.kind == "missing":
            raw = np.isnan(x).astype(float)
        else:
            raw = (x == self.level).astype(float)
        return (raw - self.centre) / self.scale


@dataclass(frozen=True)
class LinearPart:
    """A fitted logistic regression on the spec's features and its weight in the blend."""

    names: tuple[str, ...]
    columns: tuple[Column, ...]
    intercept: float
    weight: float = 0.0

    def terms(self, features: pd.DataFrame) -> np.ndarray:
        """Per-row, per-feature terms of the log-odds (rows x names), before the blend weight."""
        matrix = features.reindex(columns=list(self.names)).to_numpy(dtype=np.float64)
        out = np.zeros(matrix.shape, dtype=np.float64)
        for column in self.columns:
            out[:, column.feature] += column.coefficient * column.values(matrix[:, column.feature])
        return out

    def margin(self, features: pd.DataFrame) -> np.ndarray:
        """The regression's log-odds per row."""
        return self.intercept + self.terms(features).sum(axis=1)

    def with_weight(self, weight: float) -> LinearPart:
        return LinearPart(self.names, self.columns, self.intercept, float(weight))

    def to_dict(self) -> dict:
        return {"names": list(self.names), "intercept": self.intercept, "weight": self.weight,
                "columns": [vars(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, payload: dict) -> LinearPart:
        return cls(tuple(payload["names"]), tuple(Column(**c) for c in payload["columns"]),
                   float(payload["intercept"]), float(payload.get("weight", 0.0)))


def design(matrix: np.ndarray, categorical: set[int]) -> list[Column]:
    """The design columns the training matrix supports, centred and scaled on it (no coefficients)."""
    columns = []
    for j in range(matrix.shape[1]):
        x = matrix[:, j]
        missing = np.isnan(x)
        if missing.all():
            continue
        if j in categorical:
            candidates = [Column(j, "level", float(level), 0.0, 1.0) for level in np.unique(x[~missing])]
        else:
            median = float(np.median(x[~missing]))
            candidates = [Column(j, "value", median, 0.0, 1.0)]
        if missing.any():
            candidates.append(Column(j, "missing", 0.0, 0.0, 1.0))
        for column in candidates:
            raw = column.values(x)
            spread = float(raw.std())
            if spread > 0:  # a constant column carries nothing
                columns.append(Column(j, column.kind, column.level, float(raw.mean()), spread))
    return columns


def fit_linear(features: pd.DataFrame, label: np.ndarray, names: list[str], categorical: list[str],
               seed: int) -> LinearPart:
    """A logistic regression on `features[names]` (categorical names one indicator per level)."""
    matrix = features.reindex(columns=names).to_numpy(dtype=np.float64)
    columns = design(matrix, {names.index(c) for c in categorical if c in names})
    if not columns or len(np.unique(label)) < 2:
        return LinearPart(tuple(names), (), 0.0)
    x = np.column_stack([c.values(matrix[:, c.feature]) for c in columns])
    model = LogisticRegression(C=REGULARISATION_C, max_iter=2000, random_state=seed).fit(x, np.asarray(label, int))
    fitted = tuple(Column(c.feature, c.kind, c.level, c.centre, c.scale, float(w))
                   for c, w in zip(columns, model.coef_[0], strict=True))
    return LinearPart(tuple(names), fitted, float(model.intercept_[0]))


def blend(linear_margin: np.ndarray, tree_margin: np.ndarray, weight: float) -> np.ndarray:
    """The blended log-odds."""
    return weight * np.asarray(linear_margin, float) + (1.0 - weight) * np.asarray(tree_margin, float)


def choose_weight(label: np.ndarray, linear_margin: np.ndarray, tree_margin: np.ndarray) -> tuple[float, dict]:
    """The weight of `WEIGHTS` whose blend ranks `label` best (ROC AUC; ties: the smaller weight),
    and every weight's grade. Without both classes, the trees alone."""
    if len(np.unique(label)) < 2:
        return 0.0, {}
    grades = {w: float(roc_auc_score(label, blend(linear_margin, tree_margin, w))) for w in WEIGHTS}
    best = max(WEIGHTS, key=lambda w: (round(grades[w], 12), -w))
    return best, grades


def sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))
