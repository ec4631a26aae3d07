"""Support-ticket features: open and unanswered tickets, volume, speed, SLA breaches, satisfaction.

The time module has already blanked answers and resolutions that came after the cutoff, so a
ticket resolved after T reads here as open, and one answered after T as unanswered.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import cutoffs
from features._grouping import codes, count_per_client, last_per_client, n_codes, ratio, rows_for_clients, take
from features.spec import FeatureSpec, SlaHours
from features.tables import Tables

RECENT_DAYS = 90


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
    if not spec.has("tickets"):
        return rows_for_clients(tables, {})
    config = spec.config
    n = n_codes(tables)
    tickets = tables.tickets
    client = codes(tickets)
    age = cutoffs.age_in_days(tickets["opened_at"], cutoff)
    recent = age < RECENT_DAYS
    columns: dict[str, np.ndarray] = {
        "tickets_opened_30d": count_per_client(client[age < 30], n),
        f"tickets_opened_{RECENT_DAYS}d": count_per_client(client[recent], n),
        "days_since_last_ticket": take(age.astype(np.float64), last_per_client(
            client, tickets["opened_at"].to_numpy(dtype="datetime64[ns]").view(np.int64), n)),
    }
    recent_count = columns[f"tickets_opened_{RECENT_DAYS}d"]
    if "priority" in tickets:
        high = tickets["priority"].astype(str).str.strip().str.lower().isin(config.high_priorities).to_numpy()
        columns[f"high_priority_ticket_share_{RECENT_DAYS}d"] = ratio(
            count_per_client(client[recent], n, high[recent].astype(float)), recent_count)
    if "first_response_at" in tickets:
        unanswered = tickets["first_response_at"].isna().to_numpy()
        columns["tickets_unanswered"] = count_per_client(client[unanswered], n)
        response_hours = _hours_between(tickets["opened_at"], tickets["first_response_at"])
        columns[f"median_first_response_hours_{RECENT_DAYS}d"] = _median_per_client(
            client[recent], response_hours[recent], n)
        breached = _breaches(tickets, "first_response_at", config.first_response_sla_hours, cutoff)
        last_month = age < 30
        columns["first_response_sla_breaches_30d"] = count_per_client(client[last_month], n, breached[last_month])
        columns[f"first_response_sla_breaches_{RECENT_DAYS}d"] = count_per_client(client[recent], n, breached[recent])
    if "resolved_at" in tickets:
        open_now = tickets["resolved_at"].isna().to_numpy()
        columns["tickets_open"] = count_per_client(client[open_now], n)
        breached = _breaches(tickets, "resolved_at", config.resolution_sla_hours, cutoff)
        columns[f"resolution_sla_breaches_{RECENT_DAYS}d"] = count_per_client(client[recent], n, breached[recent])
        columns[f"tickets_reopened_{RECENT_DAYS}d"] = count_per_client(
            client[recent], n, _reopened(tickets, config.reopen_within_days)[recent])
        if "satisfaction" in tickets:
            rated = tickets["satisfaction"].notna().to_numpy()
            resolved_ns = tickets["resolved_at"].to_numpy(dtype="datetime64[ns]").view(np.int64)
            last_rated = last_per_client(client[rated], resolved_ns[rated], n)
            columns["last_ticket_satisfaction"] = take(tickets["satisfaction"].to_numpy(dtype=np.float64)[rated],
                                                       last_rated)
    else:
        # without resolutions every known ticket counts as open: the contract reads empty as open
        columns["tickets_open"] = count_per_client(client, n)
    return rows_for_clients(tables, columns)


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
