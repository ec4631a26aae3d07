"""Business segments of a scored client: risk band, value at risk, NPS group, loyalty, quadrant.

Pure rules on arrays; the thresholds come from `SegmentsConfig`. Labels are canonical English
codes; `pipeline.exports.texts` translates them for display.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features import clients, events, surveys

RISK_BANDS = ("high", "medium", "low")
# the NPS rule is features.surveys'; shown best first, then those who never answered
NPS_GROUPS = (*reversed(surveys.NPS_GROUPS), surveys.NO_ANSWER)
LOYALTY_STAGES = ("new buyer", "client", "frequent client", "advocate", "promoter")
VALUE_QUADRANTS = ("retain now", "keep and grow", "develop", "maintain at low cost")


class SegmentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # churn probability at or above which a client is in the band
    high_risk_from: float = Field(0.30, gt=0, lt=1)
    medium_risk_from: float = Field(0.10, gt=0, lt=1)
    # months of revenue a lost client takes with it (expected value at risk)
    value_horizon_months: float = Field(12.0, gt=0)
    # loyalty ladder
    new_client_days: int = Field(90, ge=1)
    frequent_active_days_30d: int = Field(8, ge=1, le=30)
    # quadrant split: a number, or "median" of the scored portfolio
    value_split: float | str = "median"
    # what winning a new client costs against keeping one (about five times, by the usual estimate)
    acquisition_to_retention_cost_ratio: float = Field(5.0, gt=0)
    retention_cost_per_client: float = Field(50.0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> SegmentsConfig:
        if self.medium_risk_from >= self.high_risk_from:
            raise ValueError("medium_risk_from must be below high_risk_from")
        if isinstance(self.value_split, str) and self.value_split != "median":
            raise ValueError("value_split must be a number or 'median'")
        return self


def risk_band(probability: np.ndarray, config: SegmentsConfig) -> np.ndarray:
    p = np.asarray(probability, dtype=float)
    return np.where(p >= config.high_risk_from, "high", np.where(p >= config.medium_risk_from, "medium", "low"))


def expected_value_at_risk(probability: np.ndarray, monthly_value: np.ndarray, config: SegmentsConfig) -> np.ndarray:
    """Probability x monthly value x the months a lost client takes with it."""
    return np.asarray(probability, float) * np.asarray(monthly_value, float) * config.value_horizon_months


def nps_group(last_score: np.ndarray) -> np.ndarray:
    return surveys.nps_group_names(last_score)


def loyalty_stage(features: pd.DataFrame, config: SegmentsConfig) -> np.ndarray:
    """The loyalty ladder, from tenure, activity frequency and NPS.

    - new buyer: tenure under `new_client_days`;
    - frequent client: active on at least `frequent_active_days_30d` of the last 30 days;
    - advocate: a frequent client whose last NPS answer is 9-10 (praises when asked);
    - promoter: an advocate with two or more answers, all 9-10 on average and none a detractor
      score (recommends consistently, unprompted);
    - client: everyone else. Without an events log, activity frequency is unknown and nobody
      is counted frequent.
    """
    n = len(features)

    def column(name: str) -> np.ndarray:
        return features[name].to_numpy(dtype=float) if name in features else np.full(n, np.nan)

    tenure = column(clients.TENURE.name)
    active = column(events.ACTIVE_DAYS_RECENT.name)
    last = column(surveys.LAST_SCORE.name)
    answers = column(surveys.ANSWERS.name)
    mean = column(surveys.MEAN_SCORE.name)
    detractor_share = column(surveys.DETRACTOR_SHARE.name)
    frequent = np.nan_to_num(active, nan=0.0) >= config.frequent_active_days_30d
    advocate = frequent & (np.nan_to_num(last, nan=-1) >= surveys.PROMOTER_MIN)
    promoter = advocate & (np.nan_to_num(answers) >= 2) & (np.nan_to_num(mean) >= surveys.PROMOTER_MIN) & \
        (np.nan_to_num(detractor_share, nan=1.0) == 0)
    stage = np.where(promoter, "promoter", np.where(advocate, "advocate",
                     np.where(frequent, "frequent client", "client")))
    return np.where(np.nan_to_num(tenure, nan=np.inf) < config.new_client_days, "new buyer", stage)


def value_quadrant(monthly_value: np.ndarray, probability: np.ndarray, config: SegmentsConfig) -> np.ndarray:
    """Current value (monthly value) high/low x future value (monthly value x (1 - p)) high/low.

    - high now, high future: keep and grow;  high now, low future: retain now (value leaving);
    - low now, high future: develop;         low now, low future: maintain at low cost.
    """
    current = np.asarray(monthly_value, dtype=float)
    future = current * (1 - np.asarray(probability, dtype=float))
    if config.value_split == "median":
        known = ~np.isnan(current)
        current_split = float(np.median(current[known])) if known.any() else np.nan
        future_split = float(np.median(future[known])) if known.any() else np.nan
    else:
        current_split = future_split = float(config.value_split)
    high_now = current >= current_split
    high_future = future >= future_split
    quadrant = np.where(high_now, np.where(high_future, "keep and grow", "retain now"),
                        np.where(high_future, "develop", "maintain at low cost"))
    return np.where(np.isnan(current), "", quadrant)


def portfolio_nps(groups: pd.Series) -> dict:
    """NPS = % promoters - % detractors among those who answered (-100..100), with the mix."""
    counts = {g: int((groups == g).sum()) for g in NPS_GROUPS}
    answered = counts["promoter"] + counts["passive"] + counts["detractor"]
    score = None if not answered else round(100 * (counts["promoter"] - counts["detractor"]) / answered, 1)
    return {"score": score, "answered": answered, **counts}


def monthly_values(clients: pd.DataFrame) -> pd.Series | None:
    """monthly_value indexed by client_id as text, or None when the clients table has none."""
    if "monthly_value" not in clients:
        return None
    return pd.Series(clients["monthly_value"].to_numpy(dtype=float), index=clients["client_id"].astype(str))
