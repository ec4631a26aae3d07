"""Training settings: cutoffs, horizon, validation and LightGBM parameters."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LightGBMParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    learning_rate: float = Field(0.03, gt=0, le=1)
    num_leaves: int = Field(15, ge=2)
    min_child_samples: int = Field(100, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)
    lambda_l2: float = Field(1.0, ge=0)
    max_bin: int = Field(255, ge=2)
    # weight of churners against stayers; above 1 helps rare churn be found but inflates the raw
    # probabilities, which the calibrator then brings back
    scale_pos_weight: float = Field(1.0, gt=0)
    num_threads: int = Field(0, ge=0)  # 0: auto, one thread per 100k training rows up to the cores


class TrainingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    horizon_days: int = Field(30, ge=1, le=366)
    n_cutoffs: int = Field(12, ge=1, le=120)
    validation_cutoffs: int = Field(2, ge=1)
    cutoff_anchor: Literal["auto", "month_end", "data_end"] = "auto"
    # behaviour history a cutoff needs before its features mean anything
    min_history_days: int = Field(30, ge=0)
    # share of clients held out when the data holds churn in a single cutoff
    fallback_validation_share: float = Field(0.25, gt=0, lt=1)
    refit_on_all_cutoffs: bool = True
    max_boost_rounds: int = Field(2000, ge=1)
    early_stopping_rounds: int = Field(50, ge=1)
    seed: int = 42
    lightgbm: LightGBMParams = LightGBMParams()
    # calibration of probabilities on the out-of-time fold; sigmoid keeps the ranking intact
    calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid"
    # constrain LightGBM by the features' declared directions (features.monotone_directions)
    monotone_constraints: bool = False
    # choose among the first N candidates of models.tuning.CANDIDATES on an inner out-of-time fold of
    # the training rows (0 or 1: fit with the configured parameters)
    search_candidates: int = Field(0, ge=0, le=4)
    # blend a logistic regression with the trees on the log-odds scale, its weight chosen on an inner
    # out-of-time fold of the training rows (models.linear; a weight of 0 keeps the trees alone)
    linear_blend: bool = True
    # forecast each event type's next-30-day count from every client-month and give the forecasts to the
    # churn model as features (models.forecasts); the local engine only, and not with monotone_constraints.
    # auto: when enough client-months have a known next month (models.forecasts.AUTO_MIN_ROWS)
    activity_forecasts: Literal["auto"] | bool = "auto"
    # the metric a new model must beat the champion on, on the same window, and by how much
    champion_metric: Literal["expected_profit", "roc_auc", "pr_auc", "brier", "log_loss", "top_decile_lift",
                             "value_saved_at_capacity"] = "expected_profit"
    champion_margin: float = Field(0.0, ge=0)
    # a later model takes the champion alias only when its ROC AUC also beats the strongest baseline
    # fitted on the same rows (the first model always does, marked below_baseline when beaten)
    champion_must_beat_baselines: bool = True
    # a later model whose data lacks a source (events, surveys, tickets) the champion was trained with
    # takes the champion alias only when this is on (the decision names the missing source either way)
    allow_fewer_sources: bool = False
