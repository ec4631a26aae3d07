"""Digital-behaviour features: how much, how recently and how the activity is trending.

Every feature reads only events known at the cutoff (the time module slices them). Each one is
declared by the function that names it (`count_in_window`, `change`, ...): event types and
channels come from the data, so their features are declared by the same rule for any name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import cutoffs
from features._grouping import codes, count_per_client, n_codes, ratio, rows_for_clients
from features.declarations import LOWERS, RAISES, UNKNOWN, Feature, Words
from features.spec import FeatureSpec
from features.tables import Tables

TREND_DAYS = 30


@dataclass(frozen=True)
class EventKind:
    """An event type as the features see it: its column-name slug, its name in the data, and
    whether it is trouble (an error, an abandoned cart: more of it raises the risk) or use."""

    slug: str
    name: str
    trouble: bool

    @property
    def family(self) -> str:
        return "errors" if self.trouble else "activity"

    @property
    def more_is(self) -> int:
        return RAISES if self.trouble else LOWERS


def event_kinds(spec: FeatureSpec) -> tuple[EventKind, ...]:
    words = spec.config.trouble_event_words
    return tuple(EventKind(slug, name, any(w in slug for w in words))
                 for slug, name in zip(spec.event_type_names, spec.event_types))


def _activity(name: str, unit: str, direction: int, label: Words, reason: Words, *, window: int | None = None,
              subject: str = "", family: str = "activity", when_missing: Words | None = None, term: str = "",
              term_kind: str = "") -> Feature:
    return Feature(name, "events", family, unit, direction, True, label, reason, when_missing, window, subject,
                   term=term, term_kind=term_kind)


def _per_type(kind: EventKind, name: str, unit: str, direction: int, label: Words, reason: Words,
              window: int) -> Feature:
    """A feature of one event type: its subject is the type, its family the type's (errors or activity)."""
    return _activity(name, unit, direction, label, reason, window=window, subject=f"event:{kind.slug}",
                     family=kind.family, term=kind.name, term_kind="event")


def count_in_window(kind: EventKind, w: int) -> Feature:
    return _per_type(kind, f"{kind.slug}_count_{w}d", "count", kind.more_is,
                     Words(f"{{events}} in {w} days", f"{{events}} en {w} días"),
                     Words(f"{{v:{{event}}|{{events}}}} in the last {w} days",
                           f"{{v:{{event}}|{{events}}}} en los últimos {w} días"), w)


def change(kind: EventKind) -> Feature:
    d = TREND_DAYS
    return _per_type(kind, f"{kind.slug}_change_{d}d_vs_previous_{d}d", "change", kind.more_is,
                     Words(f"{{events}}: trend vs the previous {d} days",
                           f"{{events}}: tendencia frente a los {d} días anteriores"),
                     Words(f"{{events}} {{dir}} {{abs_pct}}% vs the previous {d} days",
                           f"{{events}}: {{dir}} un {{abs_pct}}% frente a los {d} días anteriores"), d)


def share(kind: EventKind, w: int) -> Feature:
    return _per_type(kind, f"{kind.slug}_share_{w}d", "share", RAISES if kind.trouble else UNKNOWN,
                     Words(f"{{events}}: share of activity in {w} days",
                           f"{{events}}: cuota de la actividad en {w} días"),
                     Words(f"{{events}} are {{pct}}% of activity in the last {w} days",
                           f"{{events}}: {{pct}}% de la actividad en los últimos {w} días"), w)


def pace(kind: EventKind, w: int) -> Feature:
    return _per_type(kind, f"{kind.slug}_{TREND_DAYS}d_vs_{w}d_rate", "rate", kind.more_is,
                     Words(f"{{events}}: last {TREND_DAYS} days vs the {w}-day pace",
                           f"{{events}}: últimos {TREND_DAYS} días frente al ritmo de {w} días"),
                     Words("{events} at {pct}% of the usual pace", "{events} al {pct}% de su ritmo habitual"),
                     TREND_DAYS)


def value_sum(kind: EventKind, w: int) -> Feature:
    return _per_type(kind, f"{kind.slug}_value_sum_{w}d", "money", kind.more_is,
                     Words(f"{{events}}: value in {w} days", f"{{events}}: valor en {w} días"),
                     Words(f"{{events}} worth {{v}} in the last {w} days",
                           f"{{events}} por valor de {{v}} en los últimos {w} días"), w)


def events_in_window(w: int) -> Feature:
    return _activity(f"events_count_{w}d", "count", LOWERS,
                     Words(f"events in {w} days", f"eventos en {w} días"),
                     Words(f"{{v:event|events}} in the last {w} days",
                           f"{{v:evento|eventos}} en los últimos {w} días"),
                     window=w, subject="events_count")


def events_pace(w: int) -> Feature:
    return _activity(f"events_{TREND_DAYS}d_vs_{w}d_rate", "rate", LOWERS,
                     Words(f"activity: last {TREND_DAYS} days vs the {w}-day pace",
                           f"actividad: últimos {TREND_DAYS} días frente al ritmo de {w} días"),
                     Words("activity at {pct}% of the usual pace", "actividad al {pct}% de su ritmo habitual"),
                     window=TREND_DAYS)


def events_change() -> Feature:
    d = TREND_DAYS
    return _activity(f"events_change_{d}d_vs_previous_{d}d", "change", LOWERS,
                     Words(f"activity trend vs the previous {d} days",
                           f"tendencia de la actividad frente a los {d} días anteriores"),
                     Words(f"activity {{dir}} {{abs_pct}}% vs the previous {d} days",
                           f"actividad: {{dir}} un {{abs_pct}}% frente a los {d} días anteriores"),
                     window=d)


def active_days(w: int) -> Feature:
    return _activity(f"active_days_{w}d", "count", LOWERS,
                     Words(f"active days in {w} days", f"días activos en {w} días"),
                     Words(f"active on {{v}} of the last {w} days", f"activo {{v}} de los últimos {w} días"),
                     window=w, subject="active_days")


def channel_share(slug: str, name: str, w: int) -> Feature:
    return _activity(f"channel_{slug}_share_{w}d", "share", UNKNOWN,
                     Words(f"share of activity via {{channel}} in {w} days",
                           f"cuota de actividad por {{channel}} en {w} días"),
                     Words(f"{{pct}}% of activity via {{channel}} in the last {w} days",
                           f"{{pct}}% de la actividad por {{channel}} en los últimos {w} días"),
                     window=w, subject=f"channel_{slug}_share", term=name, term_kind="channel")


def history_days(w: int) -> Feature:
    """How long the log has known the client, up to the longest window: a year-long count over 100 days of
    history is not a light user's (the log may start after the signup, a client's first events come late).
    Capped at the window, so it does not grow with the calendar past it. Never a reason on a list."""
    return Feature(f"event_history_days_{w}d", "events", "tenure", "days", UNKNOWN, False,
                   Words(f"days since the first recorded activity, up to {w}",
                         f"días desde la primera actividad registrada, hasta {w}"), window_days=w)


DAYS_SINCE_LAST_EVENT = _activity(
    "days_since_last_event", "days", RAISES, Words("days without activity", "días sin actividad"),
    Words("no activity for {v:day|days}", "sin actividad desde hace {v:día|días}"),
    when_missing=Words("no activity recorded", "sin actividad registrada"))
ACTIVE_DAYS_RECENT = active_days(TREND_DAYS)  # the loyalty ladder's measure of a frequent client


def _distinct(keys: np.ndarray) -> np.ndarray:
    """np.unique(keys) by a sort: numpy 2.4's np.unique hashes integers, 60 times slower on millions of
    (client, day) keys (7.6 s against 0.12 s for 8 million)."""
    ordered = np.sort(keys)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _positions(values: pd.Series, known: tuple[str, ...]) -> np.ndarray:
    """Each row's position in `known` (learnt at training); unseen or missing values get
    len(known), an "other" bucket, so a value first seen at scoring never crashes."""
    index = {value: i for i, value in enumerate(known)}
    mapping = np.array([index.get(str(c), len(known)) for c in values.cat.categories] + [len(known)])
    return mapping[values.cat.codes.to_numpy()]  # code -1 (missing) maps to the last entry


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`; `tables` must already be cut at `cutoff`."""
    return rows_for_clients(tables, columns(tables, cutoff, spec))


def columns(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[Feature, np.ndarray]:
    """Each declared feature with its per-code values (the declarations are the keys)."""
    if not spec.has("events"):
        return {}
    n = n_codes(tables)
    events = tables.events
    windows = tuple(spec.config.windows_days)
    longest = max(max(windows), 2 * TREND_DAYS)
    recent = cutoffs.window(events, "timestamp", cutoff, longest)
    client = codes(recent)
    age = cutoffs.age_in_days(recent["timestamp"], cutoff)
    kinds = event_kinds(spec)
    n_types = len(kinds) + 1  # + "other"
    key = client * n_types + _positions(recent["event_type"], spec.event_types)

    def per_type(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(key[mask], weights=w, minlength=n * n_types).reshape(n, n_types).astype(np.float64)

    out: dict[Feature, np.ndarray] = {}
    # the mix and the trend read the last TREND_DAYS whatever the configured windows
    counts = {w: per_type(age < w) for w in sorted({*windows, TREND_DAYS})}
    last_trend = counts[TREND_DAYS]
    previous_trend = per_type((age >= TREND_DAYS) & (age < 2 * TREND_DAYS))
    for i, kind in enumerate(kinds):
        for w in windows:
            out[count_in_window(kind, w)] = counts[w][:, i]
        out[change(kind)] = ratio(last_trend[:, i] - previous_trend[:, i], previous_trend[:, i])
    for w in windows:
        out[events_in_window(w)] = counts[w].sum(axis=1)
    # the mix of activity (what share is errors, feature use, ...) says how a client feels
    # whatever its volume: a heavy and a light user in trouble both shift towards errors
    for w in (TREND_DAYS, max(windows)):
        total = counts[w].sum(axis=1)
        for i, kind in enumerate(kinds):
            out[share(kind, w)] = ratio(counts[w][:, i], total)
    # recent activity against the client's own baseline: a light user is not a fading one
    longest_window = max(windows)
    if longest_window > TREND_DAYS:
        baseline = counts[longest_window] * (TREND_DAYS / longest_window)
        for i, kind in enumerate(kinds):
            out[pace(kind, longest_window)] = ratio(last_trend[:, i], baseline[:, i])
        out[events_pace(longest_window)] = ratio(last_trend.sum(axis=1), baseline.sum(axis=1))
    last_total, previous_total = last_trend.sum(axis=1), previous_trend.sum(axis=1)
    out[events_change()] = ratio(last_total - previous_total, previous_total)

    # distinct active days: unique (client, day) pairs inside each window
    for w in (TREND_DAYS, max(windows)):
        inside = age < w
        day_keys = _distinct(client[inside] * longest + age[inside])
        out[active_days(w)] = count_per_client(day_keys // longest, n)
    out[DAYS_SINCE_LAST_EVENT], since_first = _days_since_last_and_first_event(events, cutoff, n)
    out[history_days(max(windows))] = np.minimum(since_first, max(windows))
    if spec.valued_event_types and "value" in recent:
        value = np.nan_to_num(recent["value"].to_numpy(dtype=np.float64), nan=0.0)
        sums = {w: per_type(age < w, value) for w in (TREND_DAYS, max(windows))}
        for t in spec.valued_event_types:
            i = spec.event_types.index(t)
            for w, table in sums.items():
                out[value_sum(kinds[i], w)] = table[:, i]
    if spec.channels and "channel" in recent:
        out.update(_channel_shares(recent, client, age < max(windows), spec, n, max(windows)))
    return out


def _days_since_last_and_first_event(events: pd.DataFrame, cutoff: pd.Timestamp, n: int
                                     ) -> tuple[np.ndarray, np.ndarray]:
    """Days since each client's last and first known event (missing without one). Reads the whole known
    history, not only the window; whole days, counted as `cutoffs.age_in_days` counts them."""
    all_codes = codes(events)
    stamps = events["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    last_seen = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    first_seen = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.maximum.at(last_seen, all_codes, stamps)
    np.minimum.at(first_seen, all_codes, stamps)
    seen = last_seen > np.iinfo(np.int64).min
    end_ns = np.datetime64(cutoffs.day_end(cutoff), "ns").view(np.int64)
    since_last, since_first = np.full(n, np.nan), np.full(n, np.nan)
    since_last[seen] = (end_ns - 1 - last_seen[seen]) // (86_400 * 10**9)
    since_first[seen] = (end_ns - 1 - first_seen[seen]) // (86_400 * 10**9)
    return since_last, since_first


def _channel_shares(recent: pd.DataFrame, client: np.ndarray, horizon: np.ndarray, spec: FeatureSpec, n: int,
                    w: int) -> dict[Feature, np.ndarray]:
    n_channels = len(spec.channels) + 1
    channel_key = client[horizon] * n_channels + _positions(recent["channel"], spec.channels)[horizon]
    per_channel = np.bincount(channel_key, minlength=n * n_channels).reshape(n, n_channels).astype(float)
    total = per_channel.sum(axis=1)
    return {channel_share(slug, name, w): ratio(per_channel[:, j], total)
            for j, (slug, name) in enumerate(zip(spec.channel_names, spec.channels))}
