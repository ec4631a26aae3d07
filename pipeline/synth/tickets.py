"""Support tickets: opened more by unhappy clients, answered and resolved at a priority's pace in
slow or normal support months, rated by how slow they were; and the tickets table they become."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.synth.clients import Clients
from pipeline.synth.parameters import (
    CATEGORIES,
    CATEGORY_SHARE,
    PRIORITIES,
    PRIORITY_SHARE,
    RESOLUTION_MEDIAN_HOURS,
    RESOLUTION_SIGMA,
    RESPONSE_MEDIAN_HOURS,
    RESPONSE_SIGMA,
    SATISFACTION_ANSWER_PROB,
    SATISFACTION_BREACH,
    SATISFACTION_CENTRE,
    SATISFACTION_HEALTH,
    SATISFACTION_NOISE,
    SATISFACTION_SLOWNESS,
    SECONDS_PER_DAY,
    SLA_FIRST_RESPONSE_HOURS,
    TICKET_HEALTH_SLOPE,
    TICKET_ID_WIDTH,
    TICKET_MONTHLY_RATE,
    UNANSWERED_PROB,
    UNRESOLVED_PROB,
)
from pipeline.synth.tables import labels, timestamps, zero_padded
from pipeline.synth.window import Calendar

_MISSING = -1  # internal marker for a null time or rating


def draw_month_tickets(
    rng: np.random.Generator,
    clients: Clients,
    health: np.ndarray,
    churn_day: np.ndarray,
    first: int,
    stop: int,
    support_factor: float,
    rate_scale: float = 1.0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Tickets opened in one month, and the SLA breaches per client they caused."""
    n = len(clients)
    start_s = np.maximum(first, clients.signup_day) * SECONDS_PER_DAY
    stop_s = np.minimum(stop, churn_day) * SECONDS_PER_DAY
    active_days = np.maximum(stop_s - start_s, 0) / SECONDS_PER_DAY
    rate = TICKET_MONTHLY_RATE * rate_scale * np.exp(-TICKET_HEALTH_SLOPE * health) * active_days / 30.0
    client = np.repeat(np.arange(n), rng.poisson(rate))
    k = len(client)
    opened = start_s[client] + (rng.random(k) * (stop_s - start_s)[client]).astype(np.int64)
    priority = rng.choice(len(PRIORITIES), k, p=PRIORITY_SHARE)
    category = rng.choice(len(CATEGORIES), k, p=CATEGORY_SHARE)

    response_h = np.asarray(RESPONSE_MEDIAN_HOURS)[priority] * support_factor * rng.lognormal(0.0, RESPONSE_SIGMA, k)
    resolution_h = (
        np.asarray(RESOLUTION_MEDIAN_HOURS)[priority] * support_factor * rng.lognormal(0.0, RESOLUTION_SIGMA, k)
    )
    answered = rng.random(k) >= UNANSWERED_PROB
    resolved = answered & (rng.random(k) >= UNRESOLVED_PROB)
    first_response = opened + np.ceil(response_h * 3600).astype(np.int64)
    resolved_at = first_response + np.ceil(resolution_h * 3600).astype(np.int64)
    breach = ~answered | (response_h > np.asarray(SLA_FIRST_RESPONSE_HOURS)[priority])

    # Slow tickets disappoint relative to what is normal for their priority.
    expected_h = np.asarray(RESPONSE_MEDIAN_HOURS)[priority] + np.asarray(RESOLUTION_MEDIAN_HOURS)[priority]
    stars = (
        SATISFACTION_CENTRE
        - SATISFACTION_SLOWNESS * np.log2((response_h + resolution_h) / expected_h)
        - SATISFACTION_BREACH * breach
        + SATISFACTION_HEALTH * health[client]
        + rng.normal(0.0, SATISFACTION_NOISE, k)
    )
    rated = rng.random(k) < SATISFACTION_ANSWER_PROB

    raw = {
        "client": client,
        "opened": opened,
        "first_response": np.where(answered, first_response, _MISSING),
        "resolved": np.where(resolved, resolved_at, _MISSING),
        "priority": priority,
        "category": category,
        "satisfaction": np.where(rated, np.clip(np.rint(stars), 1, 5), _MISSING).astype(np.int64),
    }
    return raw, np.bincount(client[breach], minlength=n)


def tickets_table(raw: dict[str, np.ndarray], calendar: Calendar, ids: pa.Array) -> pa.Table:
    # Nothing after `end` is known yet: a later answer or resolution is written as missing,
    # and so is a rating given for a resolution that has not happened yet.
    known_until = (calendar.end_day + 1) * SECONDS_PER_DAY
    responded = (raw["first_response"] != _MISSING) & (raw["first_response"] < known_until)
    resolved = (raw["resolved"] != _MISSING) & (raw["resolved"] < known_until)
    rated = resolved & (raw["satisfaction"] != _MISSING)
    # Ids are handed out in the order tickets are opened, like a helpdesk sequence.
    order = np.lexsort((raw["client"], raw["opened"]))
    number = np.arange(1, len(order) + 1)
    return pa.table(
        {
            "ticket_id": pc.binary_join_element_wise("T", zero_padded(number, TICKET_ID_WIDTH), ""),
            "client_id": ids.take(pa.array(raw["client"][order])),
            "opened_at": timestamps(raw["opened"][order]),
            "first_response_at": timestamps(raw["first_response"][order], known=responded[order]),
            "resolved_at": timestamps(raw["resolved"][order], known=resolved[order]),
            "priority": labels(PRIORITIES, raw["priority"][order]),
            "category": labels(CATEGORIES, raw["category"][order]),
            "satisfaction": pa.array(raw["satisfaction"][order], pa.int64(), mask=~rated[order]),
        }
    )
