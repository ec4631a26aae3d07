"""The month-by-month run of the hidden state: churn dates, tickets (whose SLA breaches feed back
into the hazard) and the generator's own churn probability at each month-end (truth)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.synth.clients import Clients, daily_hazard, portable, step_health
from pipeline.synth.parameters import (
    SECONDS_PER_DAY,
    SLOW_MONTH_FACTOR,
    SLOW_MONTH_PROB,
    SUPPORT_MONTH_SIGMA,
    TRUTH_HORIZON_DAYS,
)
from pipeline.synth.profiles import DEFAULT_PROFILE, Profile
from pipeline.synth.tickets import draw_month_tickets
from pipeline.synth.window import Calendar


@dataclass(frozen=True)
class History:
    health: np.ndarray  # (clients, months) float32: health during (and at the end of) each month
    churn_day: np.ndarray  # int64 day of churn; a day far after `end` when the client stays
    tickets: dict[str, np.ndarray]  # raw columns (tickets.draw_month_tickets), times in epoch seconds
    truth: pa.Table  # with the internal "client" index


def simulate(
    rng: np.random.Generator, clients: Clients, calendar: Calendar, profile: Profile = DEFAULT_PROFILE
) -> History:
    """Run the hidden state month by month: churn dates, tickets (which feed back) and truth."""
    n, months = len(clients), calendar.months
    never = calendar.end_day + 100_000
    signup = clients.signup_day
    churn_day = np.full(n, never, dtype=np.int64)
    health = clients.start_health.copy()
    disengaging = clients.start_disengaging.copy()
    breaches = np.zeros(n, dtype=np.int64)
    hazard = daily_hazard(clients, health, breaches, calendar.month_starts[0] - signup, profile)
    support_factor = np.where(rng.random(months) < SLOW_MONTH_PROB, SLOW_MONTH_FACTOR, 1.0) * rng.lognormal(
        0.0, SUPPORT_MONTH_SIGMA, months
    )
    health_path = np.empty((n, months), dtype=np.float32)
    tickets, truth = [], []

    for m in range(months):
        first, stop = calendar.bounds(m)
        new = (signup >= first) & (signup < stop)
        # A client joining this month starts from its own state, with nothing to breach yet.
        hazard = np.where(new, daily_hazard(clients, clients.start_health, np.zeros(n), 0.0, profile), hazard)

        # Churn: memoryless, so a fresh exponential each month with that month's hazard is exact.
        # A client can leave from the day after signing up, so it is active on at least one day.
        exposure_start = np.maximum(first, signup + 1)
        wait = rng.exponential(1.0, n) / hazard
        leaves = (churn_day == never) & (signup < stop) & (exposure_start + wait < stop)
        churn_day = np.where(leaves, exposure_start + np.floor(wait).astype(np.int64), churn_day)

        stepped, stepped_disengaging = step_health(rng, clients, health, disengaging)
        health = np.where(new, clients.start_health, stepped)
        disengaging = np.where(new, False, stepped_disengaging)
        health_path[:, m] = health

        month_tickets, breaches = draw_month_tickets(
            rng, clients, health, churn_day, first, stop, support_factor[m], profile.ticket_rate_scale
        )
        tickets.append(month_tickets)
        hazard = daily_hazard(clients, health, breaches, stop - signup, profile)

        as_of = calendar.month_end(m)
        if as_of <= calendar.end_day:
            active = np.flatnonzero((signup <= as_of) & (churn_day > as_of))
            truth.append(
                pa.table(
                    {
                        "client": pa.array(active),
                        "as_of": pa.array(np.full(len(active), as_of, dtype=np.int32), pa.date32()),
                        # The hazard over the next 30 days is the one just computed; only the
                        # one or two days that spill into the month after (after a 28- to 30-day
                        # month) really follow next month's state, a negligible difference.
                        "p_true": pa.array(portable(-np.expm1(-TRUTH_HORIZON_DAYS * hazard[active]))),
                    }
                )
            )

    ticket_columns = {key: np.concatenate([month[key] for month in tickets]) for key in tickets[0]}
    return History(health_path, churn_day, ticket_columns, pa.concat_tables(truth))


def active_seconds(
    clients: Clients, churn_day: np.ndarray, calendar: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(clients, months) start and stop, in epoch seconds, of each client's active time per month."""
    firsts = np.asarray([calendar.bounds(m)[0] for m in range(calendar.months)])
    stops = np.asarray([calendar.bounds(m)[1] for m in range(calendar.months)])
    start = np.maximum(firsts[None, :], clients.signup_day[:, None])
    stop = np.minimum(stops[None, :], churn_day[:, None])
    stop = np.maximum(stop, start)  # empty, not negative, outside the client's life
    return start * SECONDS_PER_DAY, stop * SECONDS_PER_DAY
