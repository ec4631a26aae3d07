"""NPS survey features: the latest answer, its group, how it moved, and how often clients answer.

NPS groups: promoters answer 9-10, passives 7-8, detractors 0-6.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import cutoffs
from features._grouping import (
    codes,
    count_per_client,
    last_per_client,
    n_codes,
    previous_per_client,
    ratio,
    rows_for_clients,
    take,
)
from features.spec import FeatureSpec
from features.tables import Tables

NPS_GROUPS = ("detractor", "passive", "promoter")
DETRACTOR_MAX, PASSIVE_MAX = 6, 8


def nps_group(scores: np.ndarray) -> np.ndarray:
    """0 detractor, 1 passive, 2 promoter; NaN stays NaN."""
    groups = np.where(scores <= DETRACTOR_MAX, 0.0, np.where(scores <= PASSIVE_MAX, 1.0, 2.0))
    return np.where(np.isnan(scores), np.nan, groups)


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`; `tables` must already be cut at `cutoff`."""
    if not spec.has("surveys"):
        return rows_for_clients(tables, {})
    n = n_codes(tables)
    surveys = tables.surveys
    client = codes(surveys)
    when = surveys["answered_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    score = surveys["score"].to_numpy(dtype=np.float64)
    last = last_per_client(client, when, n)
    previous = previous_per_client(client, when, n)
    answers = count_per_client(client, n)
    last_score = take(score, last)
    age = cutoffs.age_in_days(surveys["answered_at"], cutoff).astype(np.float64)
    group = nps_group(last_score)
    return rows_for_clients(tables, {
        "nps_last_score": last_score,
        "nps_last_group": group,
        "nps_score_change_from_previous": last_score - take(score, previous),
        "days_since_last_nps_answer": take(age, last),
        "nps_answers_count": answers,
        "nps_mean_score": ratio(count_per_client(client, n, score), answers),
        "nps_detractor_answer_share": ratio(count_per_client(client, n, (score <= DETRACTOR_MAX).astype(float)),
                                            answers),
        "nps_no_answer_yet": (answers == 0).astype(np.float64),
    })
