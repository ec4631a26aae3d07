"""The one module that owns time: what was known at a cutoff T, windows, cutoffs and labels.

A cutoff T is a calendar date; "known at T" means at the end of that day (before T+1 00:00 UTC).
Builders never compare dates by hand: they ask this module for the rows of a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import ContractError
from features.tables import Tables

DAY = pd.Timedelta(days=1)


def day_end(cutoff: pd.Timestamp) -> pd.Timestamp:
    """The exclusive upper bound of what is known at `cutoff`: the next midnight."""
    return pd.Timestamp(cutoff).normalize() + DAY


def _rows_before(df: pd.DataFrame, column: str, bound: pd.Timestamp) -> pd.DataFrame:
    values = df[column]
    if values.is_monotonic_increasing:
        stop = int(np.searchsorted(values.to_numpy(), np.datetime64(bound, "ns"), side="left"))
        return df.iloc[:stop]
    return df[values < bound]


def as_of(tables: Tables, cutoff: pd.Timestamp) -> Tables:
    """Every table as it was known at the end of day `cutoff`.

    A ticket answered or resolved after T was still unanswered or open at T, and its
    satisfaction rating (given on resolution) was not known yet.
    """
    bound = day_end(cutoff)
    clients = tables.clients[tables.clients["signup_date"] < bound]
    events = None if tables.events is None else _rows_before(tables.events, "timestamp", bound)
    surveys = None if tables.surveys is None else _rows_before(tables.surveys, "answered_at", bound)
    churn = None if tables.churn is None else tables.churn[tables.churn["churned_at"] < bound]
    tickets = tables.tickets
    if tickets is not None:
        tickets = tickets[tickets["opened_at"] < bound]
        changes: dict[str, pd.Series] = {}
        if "resolved_at" in tickets:
            later = tickets["resolved_at"] >= bound
            changes["resolved_at"] = tickets["resolved_at"].mask(later)
            if "satisfaction" in tickets:
                changes["satisfaction"] = tickets["satisfaction"].mask(later | tickets["resolved_at"].isna())
        if "first_response_at" in tickets:
            changes["first_response_at"] = tickets["first_response_at"].mask(tickets["first_response_at"] >= bound)
        if changes:
            tickets = tickets.assign(**changes)
    return Tables(clients=clients, events=events, surveys=surveys, tickets=tickets, churn=churn)


def window(df: pd.DataFrame, column: str, cutoff: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows of the last `days` calendar days up to and including day T (T-days+1 .. T)."""
    end = day_end(cutoff)
    start = end - pd.Timedelta(days=days)
    values = df[column]
    if values.is_monotonic_increasing:
        arr = values.to_numpy()
        lo, hi = np.searchsorted(arr, [np.datetime64(start, "ns"), np.datetime64(end, "ns")], side="left")
        return df.iloc[int(lo):int(hi)]
    return df[(values >= start) & (values < end)]


def age_in_days(timestamps: pd.Series, cutoff: pd.Timestamp) -> np.ndarray:
    """Whole days between each timestamp and the end of day T: 0 for anything on day T."""
    # measured from the last instant of day T, so a row at 00:00 on day T is 0 days old, not 1
    last_instant = np.datetime64(day_end(cutoff), "ns") - np.timedelta64(1, "ns")
    delta = last_instant - timestamps.to_numpy(dtype="datetime64[ns]")
    return (delta // np.timedelta64(1, "D")).astype(np.int64)


def hours_until_end_of(cutoff: pd.Timestamp, timestamps: pd.Series) -> np.ndarray:
    """Hours elapsed between each timestamp and the end of day T (how long a thing has waited)."""
    end = np.datetime64(day_end(cutoff), "ns")
    return (end - timestamps.to_numpy(dtype="datetime64[ns]")) / np.timedelta64(1, "h")


def active_mask(clients: pd.DataFrame, churn: pd.DataFrame | None, cutoff: pd.Timestamp) -> np.ndarray:
    """Active at T: signed up on or before T and no churn on or before T."""
    bound = day_end(cutoff)
    active = (clients["signup_date"] < bound).to_numpy()
    if churn is not None and len(churn):
        gone = churn.loc[churn["churned_at"] < bound, "client_id"]
        active = active & ~clients["client_id"].isin(gone).to_numpy()
    return active


def labels(clients: pd.DataFrame, churn: pd.DataFrame | None, cutoff: pd.Timestamp,
           horizon_days: int) -> np.ndarray:
    """1 when T < churned_at <= T + H, else 0, for every row of `clients`."""
    if churn is None or not len(churn):
        return np.zeros(len(clients), dtype=np.int8)
    start = day_end(cutoff)
    stop = start + pd.Timedelta(days=horizon_days)
    leaving = churn.loc[(churn["churned_at"] >= start) & (churn["churned_at"] < stop), "client_id"]
    return clients["client_id"].isin(leaving).to_numpy().astype(np.int8)


def latest_date(tables: Tables) -> pd.Timestamp:
    """The latest calendar day found in any table: the default `--until` and `--as-of`."""
    candidates: list[pd.Timestamp] = []
    columns = {
        "clients": ["signup_date"],
        "events": ["timestamp"],
        "surveys": ["answered_at"],
        "tickets": ["opened_at", "first_response_at", "resolved_at"],
        "churn": ["churned_at"],
    }
    for name, df in tables.present().items():
        for column in columns[name]:
            if column in df and df[column].notna().any():
                candidates.append(df[column].max())
    if not candidates:
        raise ContractError("no dated row in any table, cannot tell the latest date", file="clients")
    return pd.Timestamp(max(candidates)).normalize()


def earliest_activity(tables: Tables) -> pd.Timestamp | None:
    """The first day the behaviour logs cover: cutoffs before it would see empty history."""
    starts = []
    for df, column in ((tables.events, "timestamp"), (tables.surveys, "answered_at"), (tables.tickets, "opened_at")):
        if df is not None and len(df):
            starts.append(df[column].min())
    return pd.Timestamp(min(starts)).normalize() if starts else None


@dataclass(frozen=True)
class CutoffPlan:
    """The cutoffs chosen for training and why others were left out (said to the user)."""

    cutoffs: tuple[pd.Timestamp, ...]
    churners: tuple[int, ...]
    anchor: str
    notes: tuple[str, ...]

    @property
    def with_churners(self) -> int:
        return sum(1 for n in self.churners if n > 0)


def _plan(tables: Tables, until: pd.Timestamp, horizon_days: int, n_cutoffs: int,
          min_history_days: int, anchor: str) -> CutoffPlan:
    last = until - pd.Timedelta(days=horizon_days)
    if anchor == "month_end":
        candidates = list(pd.date_range(end=last, periods=n_cutoffs, freq="ME"))
    else:  # "data_end": the latest cutoff's window ends on the last day of data
        candidates = [last - pd.DateOffset(months=k) for k in range(n_cutoffs)][::-1]
    notes: list[str] = []
    first_signup = tables.clients["signup_date"].min()
    kept = [t for t in candidates if t >= first_signup]
    if len(kept) < len(candidates):
        notes.append(f"{len(candidates) - len(kept)} cutoff(s) before the first signup "
                     f"({first_signup.date()}) not used")
    churn = tables.churn
    if churn is not None and len(churn):
        first_churn = churn["churned_at"].min()
        covered = [t for t in kept if t + pd.Timedelta(days=horizon_days) >= first_churn]
        if len(covered) < len(kept):
            notes.append(f"{len(kept) - len(covered)} cutoff(s) not used: their {horizon_days}-day window "
                         f"ends before the first recorded churn ({first_churn.date()}), a period the "
                         f"churn table does not cover")
        kept = covered
    start = earliest_activity(tables)
    if start is not None:
        ready = [t for t in kept if t >= start + pd.Timedelta(days=min_history_days)]
        if len(ready) < len(kept):
            notes.append(f"{len(kept) - len(ready)} cutoff(s) not used: less than {min_history_days} days "
                         f"of behaviour history (logs start {start.date()})")
        kept = ready
    churners = []
    for t in kept:
        active = active_mask(tables.clients, churn, t)
        churners.append(int(labels(tables.clients[active], churn, t, horizon_days).sum()))
    return CutoffPlan(cutoffs=tuple(pd.Timestamp(t) for t in kept), churners=tuple(churners),
                      anchor=anchor, notes=tuple(notes))


def training_cutoffs(tables: Tables, until: pd.Timestamp, horizon_days: int, n_cutoffs: int,
                     min_history_days: int, anchor: str = "auto") -> CutoffPlan:
    """Monthly cutoffs whose label window (T, T+H] is fully observed by `until`.

    Month-end cutoffs by default: calendar-aligned, comparable across runs. A cutoff is dropped
    when its window ends before the first recorded churn (the churn table does not cover it) or
    when the behaviour logs hold less than `min_history_days` of history before it (its features
    would read an empty past as inactivity). With `anchor="auto"`, a snapshot extract whose churn
    sits at the very end of the data (which no month-end window reaches) is re-anchored so the
    latest window ends on the last day of data.
    """
    until = pd.Timestamp(until).normalize()
    if anchor != "auto":
        return _plan(tables, until, horizon_days, n_cutoffs, min_history_days, anchor)
    month_end = _plan(tables, until, horizon_days, n_cutoffs, min_history_days, "month_end")
    if month_end.with_churners >= 2:
        return month_end
    data_end = _plan(tables, until, horizon_days, n_cutoffs, min_history_days, "data_end")
    if sum(data_end.churners) > sum(month_end.churners):
        note = (f"month-end cutoffs hold {sum(month_end.churners)} churner(s); cutoffs re-anchored so the "
                f"latest {horizon_days}-day window ends on the last day of data ({until.date()}), "
                f"holding {sum(data_end.churners)}")
        return CutoffPlan(data_end.cutoffs, data_end.churners, "data_end", data_end.notes + (note,))
    return month_end
