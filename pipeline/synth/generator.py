"""Synthetic churn data in the input contract, reproducible from a seed.

Writes the five contract tables (clients, events, surveys, tickets, churn) plus ``truth``: the
generator's own probability that each active client churns in the 30 days after each month-end.

How the world works, in one paragraph: every client carries a hidden monthly *health* that
wanders (mean-reverting noise), takes occasional negative shocks, and sometimes enters a
disengaging drift. The churn hazard of a month is a function of the health at the end of the
month before, the support SLA breaches the client suffered in that month, how new the client is,
its plan and contract, plus a constant background hazard that no signal explains. Everything the
contract tables show is a noisy view of health: healthy clients log in and use features more,
unhappy ones hit more errors, abandon carts, open more tickets, answer surveys less often and give
lower scores. So activity fades before a client leaves because health fades, never because the
churn date is peeked at.

Everything is vectorised with numpy; the only Python loop runs over the months (the hidden state
is a Markov chain in time), each step vectorised across clients. A single
``np.random.default_rng(seed)`` drives every draw in a fixed order and nothing time-dependent is
written, so the same arguments give byte-identical files.

That is the `default` profile. Other profiles (pipeline.synth.profiles) change its parameters
(`sparse`, `interactions`) or write another kind of data (`snapshot`, pipeline.synth.snapshot).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.synth.clients import draw_clients
from pipeline.synth.events import write_events
from pipeline.synth.history import active_seconds, simulate
from pipeline.synth.profiles import Profile, profile_named
from pipeline.synth.snapshot import write_snapshot
from pipeline.synth.surveys import surveys_table
from pipeline.synth.tables import churn_table, client_ids, clients_table, with_client_ids, write_table
from pipeline.synth.tickets import tickets_table
from pipeline.synth.window import window_calendar

__all__ = ["DEFAULT_END", "generate", "generate_folder"]

DEFAULT_END = date(2025, 12, 31)


def generate(
    out: Path,
    n_clients: int = 5000,
    seed: int = 7,
    end: date = DEFAULT_END,
    months: int = 18,
    activity_scale: float = 1.0,
    profile: str | Profile = "default",
) -> dict[str, int]:
    """Write clients/events/surveys/tickets/churn/truth .parquet into `out` (created if needed); return row counts
    per table.

    `profile` names the world (pipeline.synth.profiles): `default` is the generator as it always
    was; `snapshot` writes only clients, churn and truth, at the one extract date `end` (`months`
    and `activity_scale` do not apply to it).

    `activity_scale` multiplies every client's expected event rate (all types alike), so the event
    volume scales with it (about 224 events per client at 1.0; benchmarks use about 0.22 for 50).
    Clients, churn, tickets and truth stay the same files; surveys are drawn after the events, so
    they are other draws from the same distribution. 1.0 gives exactly the default files.
    """
    if n_clients < 1:
        raise ValueError(f"n_clients must be at least 1, got {n_clients}")
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    if not activity_scale > 0:
        raise ValueError(f"activity_scale must be positive, got {activity_scale}")
    chosen = profile_named(profile)
    if chosen.snapshot:
        return write_snapshot(Path(out), n_clients, seed, end)
    rng = np.random.default_rng(seed)
    calendar = window_calendar(end, months)
    clients = draw_clients(rng, n_clients, calendar, chosen)
    history = simulate(rng, clients, calendar, chosen)
    start_s, stop_s = active_seconds(clients, history.churn_day, calendar)
    ids = client_ids(n_clients)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {
        "clients": write_table(clients_table(clients, ids), out / "clients.parquet"),
        "events": write_events(rng, clients, history.health, start_s, stop_s, ids, out / "events.parquet",
                               activity_scale * chosen.activity_scale),
        "surveys": write_table(surveys_table(rng, clients, history.health, start_s, stop_s, ids,
                                             chosen.survey_response_shift), out / "surveys.parquet"),
        "tickets": write_table(tickets_table(history.tickets, calendar, ids), out / "tickets.parquet"),
        "churn": write_table(churn_table(history.churn_day, calendar, ids), out / "churn.parquet"),
        "truth": write_table(with_client_ids(history.truth, ids), out / "truth.parquet"),
    }
    return counts


def generate_folder(out: Path, *, clients: int, seed: int, end: date | None,
                    profile: str = "default") -> dict[str, Any]:
    """`churn generate` and the demo's first step: the folder written, its profile, rows per table and the
    seconds it took. Here rather than in pipeline.jobs.demo, so the command imports the generator alone
    (numpy, pyarrow), not the training and scoring jobs the demo needs."""
    started = time.perf_counter()
    counts = generate(Path(out), n_clients=clients, seed=seed, end=end or DEFAULT_END, profile=profile)
    return {"out": str(out), "profile": profile, "rows": counts, "seconds": round(time.perf_counter() - started, 2)}
