"""Activity forecasts: each event type's count over the next 30 days, learnt from every client-month
and read by the churn model beside the counts it comes from.

Churners are a few percent of the training rows, so a churn model learns a client's level of
activity from few examples; next month's activity is known for nearly every row. A Poisson
LightGBM per event type learns it from the same features, and its forecast (a denoised "how active
is this client now") becomes one more input of the churn model.

- Target: a row (client, cutoff T) learns the client's `<type>_count_30d` at the next training
  cutoff, the same feature a month on (`next_month_targets`). Rows with no next cutoff (the
  latest, a client gone by then) teach nothing but are forecast like every other.
- In time: forecasters learn only from rows the caller marks `learn` (the training job: rows
  whose next cutoff is at or before the first validation cutoff), so the out-of-time rows'
  forecasts use nothing from the validation period.
- Cross-fitted: `FOLDS` forecasters, each blind to one fold of clients; a row the churn model
  learns from gets the forecast of the forecaster that never saw its client, so it learns from
  forecasts as good as those it meets at scoring. Other rows, and scoring, get the mean of all.

Stored as data: the boosters in LightGBM's text format inside one JSON document (`to_dict`).
Pure: frames in, fitted objects and columns out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

FORMAT = 1
FOLDS = 3
# 100 rounds at 0.15 learn about as much as 300 at 0.05 in a third of the trees (make bench-quality, means of
# 3 seeds: default -0.0004, sparse +0.0001, interactions +0.0003 ROC AUC): the forecasters are fitted and read
# for every row, so their trees are the cost
ROUNDS = 100
MAX_TYPES = 8                 # forecast the most frequent event types only
MIN_LEARNING_ROWS = 1_000     # fewer rows with a known next month: no forecasts
# `activity_forecasts: auto` forecasts from this many rows with a known next month on: measured, they took
# 0.004-0.014 ROC AUC off at ~9,500 such rows (1,500 clients) and added 0.002-0.003 at ~31,000 (5,000
# clients; benchmarks/RESULTS.md, "Activity forecasts by default")
AUTO_MIN_ROWS = 20_000
NEXT_CUTOFF_DAYS = (20, 40)   # a "next cutoff" further or nearer than this is not next month
PARAMS = {"objective": "poisson", "learning_rate": 0.15, "num_leaves": 31, "min_child_samples": 100,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "deterministic": True,
          "force_row_wise": True, "verbosity": -1}
SUFFIX = "_forecast_next_30d"


def forecast_name(source: str) -> str:
    """The churn model's name for the forecast of count feature `source` (`login_count_30d`)."""
    return source.removesuffix("_count_30d") + SUFFIX


@dataclass
class ActivityForecast:
    inputs: tuple[str, ...]               # the features every forecaster reads, in order
    sources: tuple[str, ...]              # the count feature each forecast predicts a month on
    boosters: tuple[tuple[lgb.Booster, ...], ...]  # per source, one booster per fold

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(forecast_name(s) for s in self.sources)

    def columns(self, features: pd.DataFrame, fold: np.ndarray | None = None) -> pd.DataFrame:
        """log(1 + forecast) per source. With `fold` (per row, -1: none), a row of fold k gets the
        forecast of the booster blind to fold k; rows of no fold (and every row without `fold`)
        the mean of all boosters."""
        matrix = features.reindex(columns=list(self.inputs)).to_numpy(dtype=np.float32)
        out = {}
        for name, boosters in zip(self.names, self.boosters):
            each = np.stack([b.predict(matrix, num_threads=0 if len(matrix) >= 20_000 else 1) for b in boosters])
            value = each.mean(axis=0)
            if fold is not None:
                for k in range(len(boosters)):
                    value = np.where(fold == k, each[k], value)
            out[name] = np.log1p(value)
        return pd.DataFrame(out, index=features.index)

    def augment(self, features: pd.DataFrame, fold: np.ndarray | None = None) -> pd.DataFrame:
        """`features` with the forecast columns added (replaced when present)."""
        columns = self.columns(features, fold)  # by position: the caller's index may repeat labels
        return features.drop(columns=list(self.names), errors="ignore").assign(
            **{name: columns[name].to_numpy() for name in self.names})

    def fold_onto_sources(self, values: np.ndarray, names: list[str]) -> np.ndarray:
        """Per-row values over `names` + `self.names` (contributions, gains) with each forecast's
        column added onto its source count's: said as that count, the fact a caller can name."""
        base = values[..., :len(names)].copy()
        position = {n: i for i, n in enumerate(names)}
        for j, source in enumerate(self.sources):
            base[..., position[source]] += values[..., len(names) + j]
        return base

    def to_dict(self) -> dict:
        return {"format": FORMAT, "inputs": list(self.inputs), "sources": list(self.sources),
                "boosters": [[b.model_to_string() for b in folds] for folds in self.boosters]}

    @classmethod
    def from_dict(cls, payload: dict) -> ActivityForecast:
        if payload.get("format") != FORMAT:
            raise ValueError(f"forecasts.json: format {payload.get('format')!r}, this code reads {FORMAT}")
        return cls(tuple(payload["inputs"]), tuple(payload["sources"]),
                   tuple(tuple(lgb.Booster(model_str=text) for text in folds) for folds in payload["boosters"]))


def next_month_targets(rows: pd.DataFrame, sources: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, each source's value at the client's next cutoff (rows x sources), and the rows
    that have one: the client has a row at the next training cutoff, 20-40 days on."""
    cutoffs = np.sort(rows["cutoff"].unique())
    gaps = np.diff(cutoffs) / np.timedelta64(1, "D")
    near, far = NEXT_CUTOFF_DAYS
    following = {pd.Timestamp(a): pd.Timestamp(b) for a, b, g in zip(cutoffs[:-1], cutoffs[1:], gaps)
                 if near <= g <= far}
    later = rows["cutoff"].map(following)
    at = rows.set_index(["client_id", "cutoff"])[sources]
    at = at[~at.index.duplicated()]
    values = at.reindex(pd.MultiIndex.from_arrays([rows["client_id"], later])).to_numpy(dtype=np.float64)
    known = later.notna().to_numpy() & np.isfinite(values).all(axis=1)
    return values, known


def fit_forecasts(rows: pd.DataFrame, inputs: list[str], sources: list[str], learn: np.ndarray,
                  fold: np.ndarray, categorical: list[str], seed: int, threads: int,
                  min_rows: int = MIN_LEARNING_ROWS) -> ActivityForecast | None:
    """One Poisson booster per source and fold on the `learn` rows of the other folds; None when
    fewer than `min_rows` rows have a known next month."""
    targets, known = next_month_targets(rows, sources)
    usable, least = learn & known, max(min_rows, MIN_LEARNING_ROWS)
    if not sources or usable.sum() < least:
        log.info("no activity forecasts: %d rows with a known next month, fewer than %d", int(usable.sum()), least)
        return None
    matrix = rows[inputs].to_numpy(dtype=np.float32)
    params = {**PARAMS, "seed": seed, "num_threads": threads}
    per_fold = []
    for k in range(FOLDS):  # one binned Dataset per fold, relabelled per source: binning ignores the label
        mask = usable & (fold != k)
        data = lgb.Dataset(matrix[mask], targets[mask, 0], feature_name=list(inputs),
                           categorical_feature=[c for c in categorical if c in inputs], free_raw_data=True)
        trained = []
        for j in range(len(sources)):
            data.set_label(targets[mask, j])
            trained.append(lgb.train(params, data, ROUNDS))
        per_fold.append(trained)
    log.info("activity forecasts: %d event types, %d rows with a known next month", len(sources), int(usable.sum()))
    return ActivityForecast(tuple(inputs), tuple(sources), tuple(zip(*per_fold)))  # per source, one per fold
