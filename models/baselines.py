"""Simple baselines a churn model must beat, fitted and scored on the same rows.

- logistic regression on the same features (imputation and scaling learnt on training rows
  only, inside one scikit-learn pipeline);
- LightGBM with its default parameters on plain counts: the per-event-type counts of every
  window plus the client's attributes (what a quick notebook would fit);
- a recency heuristic: the longer since the client's last recorded activity, the riskier.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from features import categorical_features, declared
from features.clients import TENURE
from features.events import DAYS_SINCE_LAST_EVENT
from features.spec import FeatureSpec

# recency of digital activity; a recent ticket or survey answer is no sign of health (a recent
# ticket often means trouble), so they are not used as activity
RECENCY_FEATURES = (DAYS_SINCE_LAST_EVENT.name,)


def logistic_regression(train: pd.DataFrame, valid: pd.DataFrame, names: list[str], seed: int) -> np.ndarray:
    """Probability on `valid` from a logistic regression fitted on `train` alone."""
    model = make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                          StandardScaler(), LogisticRegression(max_iter=2000, C=1.0, random_state=seed))
    model.fit(train[names].to_numpy(dtype=float), train["label"].to_numpy())
    return model.predict_proba(valid[names].to_numpy(dtype=float))[:, 1]


def plain_count_features(spec: FeatureSpec) -> list[str]:
    """Per-event-type counts (every window) and client attributes, read from the declarations."""
    return [f.name for f in declared(spec).values()
            if f.source == "clients" or (f.source == "events" and f.unit == "count" and f.subject.startswith("event:"))]


def plain_counts_lightgbm(train: pd.DataFrame, valid: pd.DataFrame, spec: FeatureSpec, seed: int) -> np.ndarray:
    """Probability on `valid` from LightGBM with default parameters (100 rounds, 31 leaves) fitted on
    `train`'s plain counts and attributes."""
    names = plain_count_features(spec)
    categorical = [c for c in categorical_features(spec) if c in names]
    params = {"objective": "binary", "seed": seed, "deterministic": True, "force_row_wise": True, "verbosity": -1,
              "num_threads": 1}
    data = lgb.Dataset(train[names].to_numpy(dtype=np.float32), label=train["label"].to_numpy(), feature_name=names,
                       categorical_feature=categorical)
    booster = lgb.train(params, data)
    return booster.predict(valid[names].to_numpy(dtype=np.float32), num_threads=1)


def recency(valid: pd.DataFrame) -> tuple[np.ndarray, str]:
    """A score in [0, 1] that grows with the days since the last activity, and what it used.

    A client with no activity at all ranks as the most at risk. Without any activity log the
    heuristic falls back to short tenure (new clients churn more).
    """
    for name in RECENCY_FEATURES:
        if name in valid and valid[name].notna().any():
            days = valid[name].to_numpy(dtype=float)
            days = np.where(np.isnan(days), np.nanmax(days) + 1, days)
            return pd.Series(days).rank(pct=True).to_numpy(), name
    tenure = valid[TENURE.name].to_numpy(dtype=float)
    return pd.Series(-tenure).rank(pct=True).to_numpy(), f"{TENURE.name} (shorter is riskier)"
