"""Fitting LightGBM: out-of-time split, early stopping, refit on every cutoff.

Pure: frames in, fitted objects out. No files, no MLflow, no clock.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss

from features import categorical_features, declared, monotone_directions
from features.spec import FeatureSpec
from models.calibration import Calibrator, cross_fitted
from models.config import TrainingConfig
from models.forecasts import AUTO_MIN_ROWS, FOLDS, MAX_TYPES, MIN_LEARNING_ROWS, ActivityForecast, fit_forecasts
from models.linear import LinearPart, blend, fit_linear, sigmoid
from models.metrics import classification_metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """Which training rows fit and which validate, and how the split was made."""

    train: np.ndarray  # boolean masks over the rows
    valid: np.ndarray
    kind: str          # "out_of_time" or "by_client"
    window: tuple[str, ...]  # the validation cutoffs, ISO dates
    note: str = ""


def client_bucket(client_ids: pd.Series, seed: int) -> np.ndarray:
    """A stable pseudo-random number in [0, 1) per client: same client, same side of a split."""
    hashed = pd.util.hash_pandas_object(client_ids.astype(str), index=False, hash_key=f"{seed:016d}"[:16])
    return (hashed.to_numpy() % 10_000) / 10_000


def validation_window(churners_per_cutoff: dict[pd.Timestamp, int], n_valid: int) -> tuple[pd.Timestamp, ...]:
    """The latest cutoffs holding churners, leaving at least one earlier such cutoff to train on.

    Empty when fewer than two cutoffs hold churners: no out-of-time split is possible.
    """
    with_churn = sorted(t for t, n in churners_per_cutoff.items() if n > 0)
    if len(with_churn) < 2:
        return ()
    return tuple(with_churn[-min(n_valid, len(with_churn) - 1):])


@dataclass(frozen=True)
class SplitRule:
    """How rows are split, decided from the churners per cutoff alone: an engine holding the rows
    in parts applies the same rule to each part."""

    kind: str                                # "out_of_time" or "by_client"
    window: tuple[pd.Timestamp, ...]         # validation cutoffs (by_client: the one cutoff)
    horizon_days: int
    overlap: bool = False                    # no training window closes before validation: train before it
    note: str = ""

    @property
    def window_text(self) -> tuple[str, ...]:
        return tuple(str(pd.Timestamp(t).date()) for t in self.window)

    def masks(self, rows: pd.DataFrame, config: TrainingConfig) -> tuple[np.ndarray, np.ndarray]:
        """(train, valid) boolean masks over `rows` (columns cutoff, client_id)."""
        cutoff = rows["cutoff"]
        if self.kind == "out_of_time":
            valid = cutoff.isin(self.window).to_numpy()
            first = min(self.window)
            # a training label must be known at the first validation cutoff: its window (T, T+H]
            # may not run past it, or training would see churn from the validation period
            train = (cutoff < first) if self.overlap else (cutoff + pd.Timedelta(days=self.horizon_days) <= first)
            return train.to_numpy(), valid
        at = (cutoff == self.window[0]).to_numpy()
        held = client_bucket(rows["client_id"], config.seed) < config.fallback_validation_share
        # rows of other cutoffs (no churner) add only negatives; held-out clients stay out of them too
        return ~held, at & held

    def split(self, rows: pd.DataFrame, config: TrainingConfig) -> Split:
        train, valid = self.masks(rows, config)
        return Split(train, valid, self.kind, self.window_text, self.note)


def split_rule(churners_per_cutoff: dict[pd.Timestamp, int], config: TrainingConfig) -> SplitRule:
    """Validate on the latest cutoffs that hold churners; never on random rows across time.

    With churners in fewer than two cutoffs (a single snapshot), an out-of-time fold is
    impossible, so a share of clients within that cutoff validates instead.
    """
    churners = {pd.Timestamp(t): int(n) for t, n in churners_per_cutoff.items()}
    window = validation_window(churners, config.validation_cutoffs)
    if window:
        horizon = pd.Timedelta(days=config.horizon_days)
        if any(n > 0 for t, n in churners.items() if t + horizon <= min(window)):
            return SplitRule("out_of_time", window, config.horizon_days)
        note = (f"no training cutoff's {config.horizon_days}-day label window closes before the validation "
                f"window; training labels overlap it")
        return SplitRule("out_of_time", window, config.horizon_days, overlap=True, note=note)
    with_churn = sorted(t for t, n in churners.items() if n > 0)
    if not with_churn:
        raise ValueError("no churner in any training cutoff")
    cutoff = with_churn[0]
    note = (f"churn falls in a single cutoff ({pd.Timestamp(cutoff).date()}): an out-of-time validation is "
            f"impossible, so {config.fallback_validation_share:.0%} of its clients (chosen by client) validate")
    return SplitRule("by_client", (cutoff,), config.horizon_days, note=note)


def split_rows(rows: pd.DataFrame, config: TrainingConfig) -> Split:
    """The split of `rows` by `split_rule` on their churners per cutoff."""
    per_cutoff = rows.groupby("cutoff")["label"].sum()
    return split_rule(per_cutoff.to_dict(), config).split(rows, config)


ROWS_PER_THREAD = 100_000


def threads_for(rows: int, configured: int) -> int:
    """LightGBM threads: as configured, or (0) one per 100k rows up to the machine's cores.

    On small data extra OpenMP threads cost more in synchronisation than they give.
    """
    if configured > 0:
        return configured
    return max(1, min(os.cpu_count() or 1, rows // ROWS_PER_THREAD))


def lightgbm_params(config: TrainingConfig, rows: int, spec: FeatureSpec | None = None) -> dict:
    """LightGBM's parameters; with `monotone_constraints` on (and a spec), each feature's declared
    direction constrains the model: risk never falls as a risk-raising feature rises."""
    p = config.lightgbm
    constraints = {"monotone_constraints": monotone_directions(spec), "monotone_constraints_method": "intermediate"} \
        if config.monotone_constraints and spec is not None else {}
    return {**constraints,
        "objective": "binary",
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "feature_fraction": p.feature_fraction,
        "bagging_fraction": p.bagging_fraction,
        "bagging_freq": p.bagging_freq,
        "lambda_l2": p.lambda_l2,
        "max_bin": p.max_bin,
        "scale_pos_weight": p.scale_pos_weight,
        "num_threads": threads_for(rows, p.num_threads),
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def lightgbm_dataset(rows: pd.DataFrame, mask: np.ndarray, spec: FeatureSpec, reference: lgb.Dataset | None = None
             ) -> lgb.Dataset:
    names = list(spec.feature_names)
    categorical = [c for c in categorical_features(spec) if c in names]
    return lgb.Dataset(rows.loc[mask, names].to_numpy(dtype=np.float32), label=rows.loc[mask, "label"].to_numpy(),
                       feature_name=names, categorical_feature=categorical, reference=reference,
                       free_raw_data=True)


@dataclass
class FitResult:
    booster: lgb.Booster
    best_iteration: int
    valid_probability: np.ndarray      # calibrated, cross-fitted: what the calibration figures grade
    valid_probability_raw: np.ndarray  # the early-stopped booster's own
    valid_ranking: np.ndarray          # in the deployed model's order: what the ranking figures grade
    metrics: dict[str, float]
    split: Split
    calibrator: Calibrator | None = None
    search: list[dict] = field(default_factory=list)  # each candidate's inner-fold grade (search_candidates)
    linear: LinearPart | None = None  # the blend's linear part (weight > 0), refitted as the booster is
    blend_grades: dict[float, float] = field(default_factory=dict)  # inner-fold ROC AUC per blend weight
    curve: list[float] = field(default_factory=list)  # validation log loss after each boosting round
    forecast: ActivityForecast | None = None  # activity forecasts the booster reads (models.forecasts)


@dataclass(frozen=True)
class Calibrated:
    """A calibrator learnt on the validation rows, and what grades the model on those rows."""

    calibrator: Calibrator | None
    probability: np.ndarray  # cross-fitted: no row's calibrator saw its client (calibration figures)
    ranking: np.ndarray      # the deployed model's order (ranking figures)
    metrics: dict[str, float]


def calibrate(raw: np.ndarray, valid: pd.DataFrame, config: TrainingConfig) -> Calibrated:
    """The calibrator on the validation rows' raw scores, their cross-fitted probabilities, the figures.

    Ranking figures follow the order the deployed model keeps. One sigmoid is monotone, so its order
    is the booster's whatever rows fitted it; cross-fitting two sigmoids on two halves of the clients
    would reorder the pooled rows and grade a ranking no deployed model produces. An isotonic map
    makes ties where it was fitted, so there the cross-fitted probabilities grade the ranking too.
    """
    label = valid["label"].to_numpy()
    calibrator, probability, ranking = None, raw, raw
    if config.calibration != "none" and len(np.unique(label)) == 2:
        # learnt on out-of-time rows the booster never saw; graded cross-fitted, by client
        calibrator = Calibrator(config.calibration).fit(raw, label)
        probability = cross_fitted(raw, label, valid["client_id"], config.calibration, config.seed)
        ranking = calibrator.transform(raw) if config.calibration == "sigmoid" else probability
    metrics = {**classification_metrics(label, ranking), "brier": float(brier_score_loss(label, probability))}
    return Calibrated(calibrator, probability, ranking, metrics)


def best_iteration(curve: list[float], stopping_rounds: int) -> int:
    """The round early stopping keeps on a validation loss curve (lower is better): the best so far,
    given up after `stopping_rounds` rounds without improvement, as `lgb.early_stopping` does."""
    best, best_value = 0, float("inf")
    for i, value in enumerate(curve):
        if value < best_value:
            best, best_value = i, value
        elif i - best >= stopping_rounds:
            break
    return best + 1


def fit(rows: pd.DataFrame, spec: FeatureSpec, config: TrainingConfig) -> FitResult:
    """Early-stopped LightGBM on the validation fold; then (by config) a refit on every row."""
    split = split_rows(rows, config)
    if split.note:
        log.warning(split.note)
    if rows.loc[split.train, "label"].nunique() < 2:
        raise ValueError("the training rows hold a single class; more history or cutoffs are needed")
    # with monotone constraints a forecast would carry a feature's effect around its constraint: none then
    wanted = config.activity_forecasts is not False and not config.monotone_constraints
    forecast = activity_forecasts(rows, spec, split, config) if wanted else None
    if forecast is not None:  # the churn model reads them as features; a training row's come cross-fitted
        rows = forecast.augment(rows, np.where(split.train, forecast_folds(rows, config), -1))
        spec = replace(spec, feature_names=spec.feature_names + forecast.names)
    search: list[dict] = []
    if config.search_candidates > 1:
        from models.tuning import choose_params  # tuning builds on this module

        config, search = choose_params(rows.loc[split.train].reset_index(drop=True), spec, config)
        log.info("parameter search on an inner fold of the training rows: %s",
                 "; ".join(f"{g['params'] or 'configured'} ROC AUC {g['roc_auc']:.4f}" for g in search))
    weight, blend_grades = 0.0, {}
    if config.linear_blend:
        from models.tuning import choose_blend_weight  # tuning builds on this module

        weight, blend_grades = choose_blend_weight(rows.loc[split.train].reset_index(drop=True), spec, config)
        log.info("linear blend on an inner fold of the training rows: weight %.1f (%s)", weight,
                 ", ".join(f"{w:.1f}: {g:.4f}" for w, g in blend_grades.items()))
    params = lightgbm_params(config, len(rows), spec)
    train_set = lightgbm_dataset(rows, split.train, spec)
    valid_set = lightgbm_dataset(rows, split.valid, spec, reference=train_set)
    evaluations: dict = {}
    booster = lgb.train(params, train_set, num_boost_round=config.max_boost_rounds, valid_sets=[valid_set],
                        valid_names=["validation"],
                        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False),
                                   lgb.record_evaluation(evaluations)])
    best = max(1, booster.best_iteration or booster.current_iteration())
    names = list(spec.feature_names)
    valid_matrix = rows.loc[split.valid, names].to_numpy(dtype=np.float32)
    linear = None
    if weight > 0:
        linear = linear_part(rows.loc[split.train], spec, config, weight)
        tree = booster.predict(valid_matrix, num_iteration=best, raw_score=True, num_threads=1)
        raw = sigmoid(blend(linear.margin(rows.loc[split.valid]), tree, weight))
    else:
        raw = booster.predict(valid_matrix, num_iteration=best, num_threads=1)
    graded = calibrate(raw, rows.loc[split.valid], config)
    if config.refit_on_all_cutoffs:
        everything = np.ones(len(rows), dtype=bool)
        booster = lgb.train(params, lightgbm_dataset(rows, everything, spec), num_boost_round=best)
        if linear is not None:
            linear = linear_part(rows, spec, config, weight)
    final = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    curve = [float(v) for v in evaluations.get("validation", {}).get("binary_logloss", [])]
    return FitResult(final, best, graded.probability, raw, graded.ranking, graded.metrics, split, graded.calibrator,
                     search, linear, blend_grades, curve, forecast)


def forecast_folds(rows: pd.DataFrame, config: TrainingConfig) -> np.ndarray:
    """The forecasters' fold of each row's client (0 .. FOLDS - 1)."""
    return np.minimum((client_bucket(rows["client_id"], config.seed + 2) * FOLDS).astype(int), FOLDS - 1)


def forecaster_threads(rows: int, config: TrainingConfig) -> int:
    """Threads for the forecasters: as configured, or (0) a thread per 50k rows. Dozens of boosters in
    a row, each on most of the rows: on 2 cores, 60k rows x 91 features trained in 5.8 s on two threads
    against 11.1 s on one (the churn model's single fit gains less, hence its 100k)."""
    return threads_for(2 * rows, config.lightgbm.num_threads)


def activity_forecasts(rows: pd.DataFrame, spec: FeatureSpec, split: Split, config: TrainingConfig
                       ) -> ActivityForecast | None:
    """Forecasters of the next 30 days of each frequent event type (models.forecasts), learnt on rows
    whose next month closes by the first validation cutoff; None without such rows or event counts."""
    sources = [f.name for f in declared(spec).values()
               if f.subject.startswith("event:") and f.unit == "count" and f.window_days == 30][:MAX_TYPES]
    learn = split.train
    if split.kind == "out_of_time":
        learn = (rows["cutoff"] < pd.Timestamp(min(split.window))).to_numpy()
    return fit_forecasts(rows, list(spec.feature_names), sources, learn, forecast_folds(rows, config),
                         categorical_features(spec), config.seed, forecaster_threads(len(rows), config),
                         min_rows=AUTO_MIN_ROWS if config.activity_forecasts == "auto" else MIN_LEARNING_ROWS)


def linear_part(rows: pd.DataFrame, spec: FeatureSpec, config: TrainingConfig, weight: float) -> LinearPart:
    """The blend's logistic regression on `rows`, at `weight`."""
    names = list(spec.feature_names)
    return fit_linear(rows, rows["label"].to_numpy(), names, categorical_features(spec), config.seed
                      ).with_weight(weight)
