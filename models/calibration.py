"""Probability calibration on out-of-time predictions, and honest before/after figures.

The calibrator learns on the validation fold, which the booster never trained on. Its "after"
figures are cross-fitted (fit on half the validation clients, measured on the other half) so the
report does not grade the calibrator on the rows it learnt from.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    return np.log(p / (1 - p))


class Calibrator:
    """Maps raw probabilities to calibrated ones; scikit-learn conventions (fit returns self)."""

    def __init__(self, method: Literal["isotonic", "sigmoid"] = "isotonic") -> None:
        self.method = method

    def fit(self, probability: np.ndarray, label: np.ndarray) -> Calibrator:
        if self.method == "isotonic":
            self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
            self.model_.fit(np.asarray(probability, dtype=float), np.asarray(label, dtype=float))
        elif self.method == "sigmoid":
            self.model_ = LogisticRegression(C=1e6, max_iter=1000)
            self.model_.fit(_logit(probability).reshape(-1, 1), np.asarray(label, dtype=int))
        else:
            raise ValueError(f"unknown calibration method '{self.method}'")
        return self

    def transform(self, probability: np.ndarray) -> np.ndarray:
        if not len(probability):  # an empty partition: nothing to calibrate (scikit-learn refuses 0 rows)
            return np.zeros(0, dtype=float)
        if self.method == "isotonic":
            return np.clip(self.model_.predict(np.asarray(probability, dtype=float)), 0.0, 1.0)
        return self.model_.predict_proba(_logit(probability).reshape(-1, 1))[:, 1]

    def to_dict(self) -> dict[str, Any]:
        """The fitted calibrator as numbers (JSON-ready): the isotonic steps, or the sigmoid's slope and
        intercept; `from_dict` rebuilds one that predicts exactly the same."""
        model = self.model_
        if self.method == "isotonic":
            return {"method": "isotonic", "x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist(),
                    "x_min": float(model.X_min_), "x_max": float(model.X_max_)}
        return {"method": "sigmoid", "coefficient": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0]),
                "classes": [int(c) for c in model.classes_]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """The calibrator `to_dict` described: scikit-learn's estimator with the stored fitted numbers set."""
        calibrator = cls(data["method"])
        if data["method"] == "isotonic":
            model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
            model.X_thresholds_ = np.array(data["x"], dtype=float)
            model.y_thresholds_ = np.array(data["y"], dtype=float)
            model.X_min_, model.X_max_, model.increasing_ = data["x_min"], data["x_max"], True
            model._build_f(model.X_thresholds_, model.y_thresholds_)  # the interpolation fit() builds from these
        elif data["method"] == "sigmoid":
            model = LogisticRegression(C=1e6, max_iter=1000)
            model.coef_, model.intercept_ = np.array([[data["coefficient"]]]), np.array([data["intercept"]])
            model.classes_, model.n_features_in_ = np.array(data["classes"]), 1
        else:
            raise ValueError(f"unknown calibration method '{data['method']}'")
        calibrator.model_ = model
        return calibrator


def cross_fitted(probability: np.ndarray, label: np.ndarray, client_ids: pd.Series, method: str,
                 seed: int = 0) -> np.ndarray:
    """Calibrated probabilities where each row's calibrator never saw that row's client."""
    hashed = pd.util.hash_pandas_object(client_ids.astype(str), index=False, hash_key=f"{seed:016d}"[:16])
    fold = (hashed.to_numpy() % 2).astype(bool)
    out = np.asarray(probability, dtype=float).copy()
    for side in (True, False):
        learn, apply = fold == side, fold != side
        if len(np.unique(label[learn])) < 2 or not apply.any():
            continue
        out[apply] = Calibrator(method).fit(probability[learn], label[learn]).transform(probability[apply])
    return out
