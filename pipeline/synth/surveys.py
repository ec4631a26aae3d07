"""NPS surveys: asked once a quarter, answered less often and scored lower by unhappy clients,
with a comment that matches the score band."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.synth.clients import Clients, sigmoid
from pipeline.synth.parameters import (
    COMMENT_PROB_DETRACTOR,
    COMMENT_PROB_OTHER,
    COMMENTS_DETRACTOR,
    COMMENTS_PASSIVE,
    COMMENTS_PROMOTER,
    SURVEY_EVERY_MONTHS,
    SURVEY_RESPONSE_HEALTH,
    SURVEY_RESPONSE_LOGIT,
    SURVEY_SCORE_CENTRE,
    SURVEY_SCORE_HEALTH,
    SURVEY_SCORE_NOISE,
)
from pipeline.synth.tables import timestamps


def surveys_table(
    rng: np.random.Generator,
    clients: Clients,
    health: np.ndarray,
    start_s: np.ndarray,
    stop_s: np.ndarray,
    ids: pa.Array,
    response_shift: float = 0.0,
) -> pa.Table:
    n, months = health.shape
    # Each client is asked once a quarter; only the months it is active in can hold an answer.
    asked = (np.arange(months)[None, :] + clients.survey_phase[:, None]) % SURVEY_EVERY_MONTHS == 0
    answer_logit = SURVEY_RESPONSE_LOGIT + response_shift + SURVEY_RESPONSE_HEALTH * health
    answers = rng.random((n, months)) < sigmoid(answer_logit)
    client, month = np.nonzero(asked & answers & (stop_s > start_s))  # client-major, months in order
    k = len(client)
    answered_at = start_s[client, month] + (rng.random(k) * (stop_s - start_s)[client, month]).astype(np.int64)
    mood = SURVEY_SCORE_CENTRE + SURVEY_SCORE_HEALTH * health[client, month] + rng.normal(0.0, SURVEY_SCORE_NOISE, k)
    score = np.clip(np.rint(mood), 0, 10).astype(np.int64)

    # Detractors explain themselves more often; the text matches the score band.
    band = np.select([score <= 6, score <= 8], [0, 1], 2)
    bands = (COMMENTS_DETRACTOR, COMMENTS_PASSIVE, COMMENTS_PROMOTER)
    band_size = np.asarray([len(b) for b in bands])
    band_offset = np.concatenate([[0], np.cumsum(band_size)[:-1]])
    has_comment = rng.random(k) < np.where(band == 0, COMMENT_PROB_DETRACTOR, COMMENT_PROB_OTHER)
    pick = band_offset[band] + (rng.random(k) * band_size[band]).astype(np.int64)
    texts = pa.array([text for b in bands for text in b], pa.string())
    return pa.table(
        {
            "client_id": ids.take(pa.array(client)),
            "answered_at": timestamps(answered_at),
            "score": pa.array(score),
            "comment": texts.take(pa.array(pick, mask=~has_comment)),
        }
    )
