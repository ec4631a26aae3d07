"""NPS survey features: the latest answer, its group, how it moved, and how often clients answer.

The NPS rule is defined here and nowhere else: promoters answer 9-10, passives 7-8, detractors
0-6. Segments, explanations and exports read `NPS_GROUPS`, `nps_group_names` and `GROUP_WORDS`.
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
from features.declarations import LOWERS, RAISES, UNKNOWN, Feature, Words
from features.spec import FeatureSpec
from features.tables import Tables

NPS_GROUPS = ("detractor", "passive", "promoter")  # codes 0, 1, 2 of `nps_group`, worst first
DETRACTOR_MAX, PASSIVE_MAX = 6, 8
PROMOTER_MIN = PASSIVE_MAX + 1
NO_ANSWER = "no answer"
GROUP_WORDS = {"detractor": Words("detractor", "detractor"), "passive": Words("passive", "pasivo"),
               "promoter": Words("promoter", "promotor"), NO_ANSWER: Words("no answer", "sin respuesta")}


def nps_group(scores: np.ndarray) -> np.ndarray:
    """0 detractor, 1 passive, 2 promoter; NaN stays NaN."""
    scores = np.asarray(scores, dtype=float)
    groups = np.where(scores <= DETRACTOR_MAX, 0.0, np.where(scores <= PASSIVE_MAX, 1.0, 2.0))
    return np.where(np.isnan(scores), np.nan, groups)


def nps_group_names(scores: np.ndarray) -> np.ndarray:
    """The group of each score by name; "no answer" where there is none."""
    groups = nps_group(scores)
    names = np.array([*NPS_GROUPS, NO_ANSWER], dtype=object)
    return names[np.where(np.isnan(groups), len(NPS_GROUPS), groups).astype(int)].astype(str)


def _nps(name: str, unit: str, direction: int, label: Words, reason: Words, when_missing: Words | None = None,
         levels: tuple[str, ...] | None = None) -> Feature:
    return Feature(name, "surveys", "nps", unit, direction, True, label, reason, when_missing, subject="nps",
                   levels=levels)


_NO_ANSWER_YET = Words("no NPS answer yet", "aún sin respuesta NPS")
_LAST_ANSWER = Words("last NPS answer", "última respuesta NPS")
_LAST_ANSWER_REASON = Words("last NPS answer {score} ({group})", "última respuesta NPS {score} ({group})")
LAST_SCORE = _nps("nps_last_score", "score", LOWERS, _LAST_ANSWER, _LAST_ANSWER_REASON, _NO_ANSWER_YET)
LAST_GROUP = _nps("nps_last_group", "category", LOWERS,
                  Words("NPS group of the last answer", "grupo NPS de la última respuesta"), _LAST_ANSWER_REASON,
                  _NO_ANSWER_YET, levels=NPS_GROUPS)
SCORE_CHANGE = _nps("nps_score_change_from_previous", "points", LOWERS,
                    Words("NPS change since previous answer", "cambio de NPS desde la respuesta anterior"),
                    Words("NPS {dir} {abs_v:point|points} since the previous answer",
                          "NPS: {dir} {abs_v:punto|puntos} desde la respuesta anterior"))
DAYS_SINCE_ANSWER = _nps("days_since_last_nps_answer", "days", UNKNOWN,
                         Words("days since last NPS answer", "días desde la última respuesta NPS"),
                         Words("no NPS answer for {v:day|days}", "sin respuesta NPS desde hace {v:día|días}"),
                         _NO_ANSWER_YET)
ANSWERS = _nps("nps_answers_count", "count", UNKNOWN, Words("number of NPS answers", "número de respuestas NPS"),
               Words("{v:NPS answer|NPS answers}", "{v:respuesta NPS|respuestas NPS}"))
MEAN_SCORE = _nps("nps_mean_score", "score", LOWERS, Words("average NPS score", "puntuación NPS media"),
                  Words("average NPS score {v}", "puntuación NPS media {v}"), _NO_ANSWER_YET)
DETRACTOR_SHARE = _nps("nps_detractor_answer_share", "share", RAISES,
                       Words("share of detractor NPS answers", "cuota de respuestas NPS de detractor"),
                       Words("{pct}% of NPS answers were detractor scores", "{pct}% de respuestas NPS de detractor"))
NO_ANSWER_YET = _nps("nps_no_answer_yet", "flag", UNKNOWN, Words("no NPS answer yet", "sin respuesta NPS"),
                     Words("never answered an NPS survey", "nunca ha respondido la encuesta NPS"))


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`; `tables` must already be cut at `cutoff`."""
    return rows_for_clients(tables, columns(tables, cutoff, spec))


def columns(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[Feature, np.ndarray]:
    """Each declared feature with its per-code values (the declarations are the keys)."""
    if not spec.has("surveys"):
        return {}
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
    return {
        LAST_SCORE: last_score,
        LAST_GROUP: nps_group(last_score),
        SCORE_CHANGE: last_score - take(score, previous),
        DAYS_SINCE_ANSWER: take(age, last),
        ANSWERS: answers,
        MEAN_SCORE: ratio(count_per_client(client, n, score), answers),
        DETRACTOR_SHARE: ratio(count_per_client(client, n, (score <= DETRACTOR_MAX).astype(float)), answers),
        NO_ANSWER_YET: (answers == 0).astype(np.float64),
    }
