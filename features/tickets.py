"""Support-ticket features: open and unanswered tickets, volume, speed, SLA breaches, satisfaction.

The time module has already blanked answers and resolutions that came after the cutoff, so a
ticket resolved after T reads here as open, and one answered after T as unanswered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import cutoffs
from features._grouping import codes, count_per_client, last_per_client, n_codes, ratio, rows_for_clients, take
from features.declarations import LOWERS, RAISES, Feature, Words
from features.spec import FeatureSpec, SlaHours
from features.tables import Tables

RECENT_DAYS = 90
MONTH_DAYS = 30


def _support(name: str, unit: str, direction: int, label: Words, reason: Words, window: int | None = None,
             subject: str = "") -> Feature:
    return Feature(name, "tickets", "support", unit, direction, True, label, reason, None, window, subject)


def opened(w: int) -> Feature:
    return _support(f"tickets_opened_{w}d", "count", RAISES,
                    Words(f"tickets opened in {w} days", f"tickets abiertos en {w} días"),
                    Words(f"{{v:ticket|tickets}} opened in the last {w} days",
                          f"{{v:ticket abierto|tickets abiertos}} en los últimos {w} días"), w,
                    "tickets_opened")


def high_priority_share(w: int) -> Feature:
    return _support(f"high_priority_ticket_share_{w}d", "share", RAISES,
                    Words("share of high-priority tickets", "cuota de tickets de prioridad alta"),
                    Words(f"{{pct}}% of tickets in the last {w} days were high priority",
                          f"{{pct}}% de los tickets de los últimos {w} días con prioridad alta"), w)


def median_first_response(w: int) -> Feature:
    return _support(f"median_first_response_hours_{w}d", "hours", RAISES,
                    Words("median first-response time", "mediana del tiempo de primera respuesta"),
                    Words(f"first response takes {{v:hour|hours}} (median of the last {w} days)",
                          f"primera respuesta en {{v:hora|horas}} (mediana de los últimos {w} días)"), w)


def first_response_breaches(w: int) -> Feature:
    return _support(f"first_response_sla_breaches_{w}d", "count", RAISES,
                    Words(f"first responses past the SLA in {w} days", f"primeras respuestas fuera de SLA en {w} días"),
                    Words(f"{{v:ticket|tickets}} answered later than the SLA in the last {w} days",
                          f"{{v:ticket respondido|tickets respondidos}} fuera de SLA en los últimos {w} días"), w,
                    "first_response_sla_breaches")


def resolution_breaches(w: int) -> Feature:
    return _support(f"resolution_sla_breaches_{w}d", "count", RAISES,
                    Words(f"resolutions past the SLA in {w} days", f"resoluciones fuera de SLA en {w} días"),
                    Words(f"{{v:ticket|tickets}} resolved later than the SLA in the last {w} days",
                          f"{{v:ticket resuelto|tickets resueltos}} fuera de SLA en los últimos {w} días"), w)


def reopened(w: int) -> Feature:
    return _support(f"tickets_reopened_{w}d", "count", RAISES,
                    Words(f"reopened tickets in {w} days", f"tickets reabiertos en {w} días"),
                    Words(f"{{v:ticket|tickets}} reopened in the last {w} days",
                          f"{{v:ticket reabierto|tickets reabiertos}} en los últimos {w} días"), w)


DAYS_SINCE_LAST_TICKET = _support("days_since_last_ticket", "days", LOWERS,
                                  Words("days since last ticket", "días desde el último ticket"),
                                  Words("last ticket {v:ago}", "último ticket {v:ago}"))
UNANSWERED = _support("tickets_unanswered", "count", RAISES,
                      Words("tickets without first response", "tickets sin primera respuesta"),
                      Words("{v:ticket|tickets} still without a first response",
                            "{v:ticket|tickets} aún sin primera respuesta"))
OPEN = _support("tickets_open", "count", RAISES, Words("open tickets", "tickets abiertos"),
                Words("{v:open ticket|open tickets}", "{v:ticket abierto|tickets abiertos}"))
LAST_SATISFACTION = _support("last_ticket_satisfaction", "rating", LOWERS,
                             Words("last ticket satisfaction", "satisfacción del último ticket"),
                             Words("last ticket rated {v}/5", "último ticket valorado {v}/5"))


def _sla_hours(tickets: pd.DataFrame, sla: SlaHours) -> np.ndarray:
    if "priority" not in tickets:
        return np.full(len(tickets), sla.default)
    levels = tickets["priority"].astype("category")
    by_level = np.array([sla.for_priority(str(p)) for p in levels.cat.categories] + [sla.default])
    return by_level[levels.cat.codes.to_numpy()]


def _hours_between(start: pd.Series, stop: pd.Series) -> np.ndarray:
    return ((stop - start) / pd.Timedelta(hours=1)).to_numpy(dtype=np.float64, na_value=np.nan)


def _breaches(tickets: pd.DataFrame, done_column: str, sla: SlaHours, cutoff: pd.Timestamp) -> np.ndarray:
    """1 where a ticket took longer than its SLA, or is still waiting past it at the end of day T."""
    target = _sla_hours(tickets, sla)
    took = _hours_between(tickets["opened_at"], tickets[done_column])
    waiting = cutoffs.hours_until_end_of(cutoff, tickets["opened_at"])
    elapsed = np.where(np.isnan(took), waiting, took)
    return (elapsed > target).astype(np.float64)


def _median_per_client(client: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    ok = ~np.isnan(values)
    if ok.any():
        medians = pd.Series(values[ok]).groupby(client[ok]).median()
        out[medians.index.to_numpy()] = medians.to_numpy()
    return out


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`; `tables` must already be cut at `cutoff`."""
    return rows_for_clients(tables, columns(tables, cutoff, spec))


def columns(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[Feature, np.ndarray]:
    """Each declared feature with its per-code values (the declarations are the keys)."""
    if not spec.has("tickets"):
        return {}
    config = spec.config
    n = n_codes(tables)
    tickets = tables.tickets
    client = codes(tickets)
    age = cutoffs.age_in_days(tickets["opened_at"], cutoff)
    recent, last_month = age < RECENT_DAYS, age < MONTH_DAYS
    recent_count = count_per_client(client[recent], n)
    out: dict[Feature, np.ndarray] = {
        opened(MONTH_DAYS): count_per_client(client[last_month], n),
        opened(RECENT_DAYS): recent_count,
        DAYS_SINCE_LAST_TICKET: take(age.astype(np.float64), last_per_client(
            client, tickets["opened_at"].to_numpy(dtype="datetime64[ns]").view(np.int64), n)),
    }
    if "priority" in tickets:
        high = tickets["priority"].astype(str).str.strip().str.lower().isin(config.high_priorities).to_numpy()
        out[high_priority_share(RECENT_DAYS)] = ratio(count_per_client(client[recent], n, high[recent].astype(float)),
                                                      recent_count)
    if "first_response_at" in tickets:
        out[UNANSWERED] = count_per_client(client[tickets["first_response_at"].isna().to_numpy()], n)
        response_hours = _hours_between(tickets["opened_at"], tickets["first_response_at"])
        out[median_first_response(RECENT_DAYS)] = _median_per_client(client[recent], response_hours[recent], n)
        breached = _breaches(tickets, "first_response_at", config.first_response_sla_hours, cutoff)
        for w, inside in ((MONTH_DAYS, last_month), (RECENT_DAYS, recent)):
            out[first_response_breaches(w)] = count_per_client(client[inside], n, breached[inside])
    if "resolved_at" in tickets:
        out[OPEN] = count_per_client(client[tickets["resolved_at"].isna().to_numpy()], n)
        breached = _breaches(tickets, "resolved_at", config.resolution_sla_hours, cutoff)
        out[resolution_breaches(RECENT_DAYS)] = count_per_client(client[recent], n, breached[recent])
        out[reopened(RECENT_DAYS)] = count_per_client(client[recent], n,
                                                      _reopened(tickets, config.reopen_within_days)[recent])
        if "satisfaction" in tickets:
            rated = tickets["satisfaction"].notna().to_numpy()
            resolved_ns = tickets["resolved_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
            last_rated = last_per_client(client[rated], resolved_ns[rated], n)
            out[LAST_SATISFACTION] = take(tickets["satisfaction"].to_numpy(dtype=np.float64)[rated], last_rated)
    else:
        # without resolutions every known ticket counts as open: the contract reads empty as open
        out[OPEN] = count_per_client(client, n)
    return out


def _reopened(tickets: pd.DataFrame, within_days: int) -> np.ndarray:
    """1 for a ticket opened soon after the same client's previous ticket was resolved.

    The contract has no reopen flag; a new ticket within a few days of a resolution is the usual
    sign that the problem was not solved.
    """
    order = np.lexsort((tickets["opened_at"].to_numpy(dtype="datetime64[ns]"), codes(tickets)))
    ordered = tickets.iloc[order]
    client = codes(ordered)
    same_client = np.r_[False, client[1:] == client[:-1]]
    previous_resolved = np.r_[np.datetime64("NaT", "ns"),
                              ordered["resolved_at"].to_numpy(dtype="datetime64[ns]")[:-1]]
    gap = ordered["opened_at"].to_numpy(dtype="datetime64[ns]") - previous_resolved
    soon = same_client & (gap >= np.timedelta64(0, "ns")) & (gap <= np.timedelta64(within_days, "D"))
    out = np.zeros(len(tickets))
    out[order] = soon.astype(float)
    return out
