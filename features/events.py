"""Digital-behaviour features: how much, how recently and how the activity is trending.

Every feature reads only events known at the cutoff (the time module slices them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import cutoffs
from features._grouping import codes, count_per_client, n_codes, ratio, rows_for_clients
from features.spec import FeatureSpec
from features.tables import Tables

TREND_DAYS = 30


def _positions(values: pd.Series, known: tuple[str, ...]) -> np.ndarray:
    """Each row's position in `known` (learnt at training); unseen or missing values get
    len(known), an "other" bucket, so a value first seen at scoring never crashes."""
    index = {value: i for i, value in enumerate(known)}
    mapping = np.array([index.get(str(c), len(known)) for c in values.cat.categories] + [len(known)])
    return mapping[values.cat.codes.to_numpy()]  # code -1 (missing) maps to the last entry


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`; `tables` must already be cut at `cutoff`."""
    if not spec.has("events"):
        return rows_for_clients(tables, {})
    n = n_codes(tables)
    events = tables.events
    windows = tuple(spec.config.windows_days)
    longest = max(max(windows), 2 * TREND_DAYS)
    recent = cutoffs.window(events, "timestamp", cutoff, longest)
    client = codes(recent)
    age = cutoffs.age_in_days(recent["timestamp"], cutoff)
    n_types = len(spec.event_types) + 1  # + "other"
    kind = _positions(recent["event_type"], spec.event_types)
    key = client * n_types + kind

    def per_type(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(key[mask], weights=w, minlength=n * n_types).reshape(n, n_types).astype(np.float64)

    columns: dict[str, np.ndarray] = {}
    counts = {w: per_type(age < w) for w in windows}
    last_trend = per_type(age < TREND_DAYS)
    previous_trend = per_type((age >= TREND_DAYS) & (age < 2 * TREND_DAYS))
    for i, name in enumerate(spec.event_type_names):
        for w in windows:
            columns[f"{name}_count_{w}d"] = counts[w][:, i]
        columns[f"{name}_change_{TREND_DAYS}d_vs_previous_{TREND_DAYS}d"] = ratio(
            last_trend[:, i] - previous_trend[:, i], previous_trend[:, i])
    for w in windows:
        columns[f"events_count_{w}d"] = counts[w].sum(axis=1)
    # the mix of activity (what share is errors, feature use, ...) says how a client feels
    # whatever its volume: a heavy and a light user in trouble both shift towards errors
    for w in (TREND_DAYS, max(windows)):
        total = counts[w].sum(axis=1)
        for i, name in enumerate(spec.event_type_names):
            columns[f"{name}_share_{w}d"] = ratio(counts[w][:, i], total)
    # recent activity against the client's own baseline: a light user is not a fading one
    longest_window = max(windows)
    if longest_window > TREND_DAYS:
        baseline = counts[longest_window] * (TREND_DAYS / longest_window)
        for i, name in enumerate(spec.event_type_names):
            columns[f"{name}_{TREND_DAYS}d_vs_{longest_window}d_rate"] = ratio(last_trend[:, i], baseline[:, i])
        columns[f"events_{TREND_DAYS}d_vs_{longest_window}d_rate"] = ratio(last_trend.sum(axis=1),
                                                                           baseline.sum(axis=1))
    last_total, previous_total = last_trend.sum(axis=1), previous_trend.sum(axis=1)
    columns[f"events_change_{TREND_DAYS}d_vs_previous_{TREND_DAYS}d"] = ratio(last_total - previous_total,
                                                                            previous_total)

    # distinct active days: unique (client, day) pairs inside each window
    for w in (TREND_DAYS, max(windows)):
        inside = age < w
        day_keys = np.unique(client[inside] * longest + age[inside])
        columns[f"active_days_{w}d"] = count_per_client(day_keys // longest, n)

    # days since the last event reads the whole known history, not only the window
    all_codes = codes(events)
    last_seen = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last_seen, all_codes, events["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64))
    seen = last_seen > np.iinfo(np.int64).min
    days_since = np.full(n, np.nan)
    end_ns = np.datetime64(cutoffs.day_end(cutoff), "ns").view(np.int64)
    days_since[seen] = (end_ns - 1 - last_seen[seen]) // (86_400 * 10**9)  # same day count as age_in_days
    columns["days_since_last_event"] = days_since

    if spec.valued_event_types and "value" in recent:
        value = np.nan_to_num(recent["value"].to_numpy(dtype=np.float64), nan=0.0)
        valued = {t: spec.event_type_names[spec.event_types.index(t)] for t in spec.valued_event_types}
        sums = {w: per_type(age < w, value) for w in (TREND_DAYS, max(windows))}
        for t, name in valued.items():
            i = spec.event_types.index(t)
            for w, table in sums.items():
                columns[f"{name}_value_sum_{w}d"] = table[:, i]

    if spec.channels and "channel" in recent:
        horizon = age < max(windows)
        n_channels = len(spec.channels) + 1
        channel_key = client[horizon] * n_channels + _positions(recent["channel"], spec.channels)[horizon]
        per_channel = np.bincount(channel_key, minlength=n * n_channels).reshape(n, n_channels).astype(float)
        total = per_channel.sum(axis=1)
        for j, name in enumerate(spec.channel_names):
            columns[f"channel_{name}_share_{max(windows)}d"] = ratio(per_channel[:, j], total)

    return rows_for_clients(tables, columns)
