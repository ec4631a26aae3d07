"""Feature settings (typed config) and the FeatureSpec learnt at training time.

The spec holds everything the builders learnt from the training data and must reuse when
scoring (event types, channels, category levels, feature order), so a value first seen at
scoring time is handled, never a crash.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.tables import OPTIONAL_COLUMNS, Tables


class SlaHours(BaseModel):
    """Service-level targets in hours per ticket priority; `default` covers any other priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    urgent: float = Field(1.0, gt=0)
    high: float = Field(4.0, gt=0)
    medium: float = Field(8.0, gt=0)
    low: float = Field(24.0, gt=0)
    default: float = Field(24.0, gt=0)

    def for_priority(self, priority: str | None) -> float:
        key = (priority or "").strip().lower()
        return float(getattr(self, key)) if key in {"urgent", "high", "medium", "low"} else self.default


class FeaturesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    windows_days: tuple[int, ...] = (7, 30, 90, 365)
    max_event_types: int = Field(30, ge=1)
    max_channels: int = Field(10, ge=1)
    max_category_levels: int = Field(50, ge=2)
    # a string attribute with more distinct values than this share of clients is an identifier
    identifier_unique_share: float = Field(0.5, gt=0, le=1)
    high_priorities: tuple[str, ...] = ("high", "urgent")
    first_response_sla_hours: SlaHours = SlaHours()
    resolution_sla_hours: SlaHours = SlaHours(urgent=8, high=24, medium=72, low=120, default=72)
    # a ticket opened within this many days of the client's previous resolution counts as reopened
    reopen_within_days: int = Field(7, ge=1)
    # an event type whose column-name slug holds one of these is trouble (more of it raises the
    # risk: family "errors"); any other type is use (more of it lowers the risk: "activity")
    trouble_event_words: tuple[str, ...] = ("error", "fail", "crash", "bug", "exception", "timeout", "abandon",
                                            "cancel", "complain", "complaint", "downgrade", "unsubscribe", "refund",
                                            "reject", "declin", "fallo", "incidencia", "queja", "reclama")


def slug(text: str) -> str:
    """A safe, readable column-name part: ascii lower case, digits and underscores."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return cleaned or "blank"


def _unique_slugs(values: list[str], taken: set[str] | None = None) -> list[str]:
    taken = set(taken or ())
    out = []
    for value in values:
        base = candidate = slug(value)
        k = 2
        while candidate in taken:
            candidate = f"{base}_{k}"
            k += 1
        taken.add(candidate)
        out.append(candidate)
    return out


@dataclass
class FeatureSpec:
    """What the builders learnt from training data; saved with the model, reused at scoring."""

    config: FeaturesConfig
    sources: tuple[str, ...]                      # tables present at training (events, surveys, tickets)
    optional_columns: dict[str, tuple[str, ...]]  # optional contract columns present, per table
    event_types: tuple[str, ...] = ()
    event_type_names: tuple[str, ...] = ()        # column-name slugs, same order
    valued_event_types: tuple[str, ...] = ()      # event types whose `value` is filled
    channels: tuple[str, ...] = ()
    channel_names: tuple[str, ...] = ()
    numeric_attributes: dict[str, str] = field(default_factory=dict)      # column -> feature name
    categorical_attributes: dict[str, str] = field(default_factory=dict)  # column -> feature name
    category_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # feature -> levels
    ignored_columns: dict[str, str] = field(default_factory=dict)         # column -> why
    feature_names: tuple[str, ...] = ()           # final order, fixed by features.fit_spec

    def has(self, source: str) -> bool:
        return source in self.sources

    def has_column(self, table: str, column: str) -> bool:
        return column in self.optional_columns.get(table, ())

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready data (tuples as lists, the config through pydantic); `from_dict`
        gives back an equal spec."""
        out: dict[str, Any] = {}
        for name, value in ((f.name, getattr(self, f.name)) for f in fields(self)):
            if name == "config":
                out[name] = value.model_dump(mode="json")
            elif isinstance(value, tuple):
                out[name] = list(value)
            else:  # a dict of names, or of names to levels
                out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """The spec `to_dict` wrote; a missing or unknown field is a ValueError naming it."""
        names = [f.name for f in fields(cls)]
        unknown, missing = sorted(set(data) - set(names)), sorted(set(names) - set(data))
        if unknown or missing:
            raise ValueError(f"feature spec: unknown fields {unknown}, missing fields {missing}")
        values: dict[str, Any] = {}
        for name in names:
            value = data[name]
            if name == "config":
                values[name] = FeaturesConfig.model_validate(value)
            elif isinstance(value, list):
                values[name] = tuple(value)
            else:
                values[name] = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
        return cls(**values)


def _counts(values: pd.Series) -> pd.Series:
    counts = values.dropna().astype(str).value_counts()
    return counts[counts > 0]


def _ordered_levels(counts: pd.Series, limit: int) -> tuple[str, ...]:
    # ties broken by the value itself, so the same data always gives the same spec
    ordered = sorted(((str(k), int(v)) for k, v in counts.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
    return tuple(k for k, _ in ordered[:limit])


def _top_levels(values: pd.Series, limit: int) -> tuple[str, ...]:
    return _ordered_levels(_counts(values), limit)


@dataclass
class EventLevels:
    """What the spec learns from the event log, as counts that add up across partitions: an engine
    working on parts of the log sums these and gets the spec of the whole."""

    event_types: pd.Series                 # rows per event type
    channels: pd.Series | None = None      # rows per channel (None: no channel column)
    valued_event_types: frozenset = frozenset()  # types with a filled `value` (None: no value column)
    has_value: bool = False

    def __add__(self, other: EventLevels) -> EventLevels:
        channels = None if self.channels is None and other.channels is None else \
            (self.channels if self.channels is not None else pd.Series(dtype="int64")).add(
                other.channels if other.channels is not None else pd.Series(dtype="int64"), fill_value=0)
        return EventLevels(self.event_types.add(other.event_types, fill_value=0), channels,
                           self.valued_event_types | other.valued_event_types, self.has_value or other.has_value)


def event_levels(events: pd.DataFrame) -> EventLevels:
    """The counts `learn_spec` reads from an event log."""
    valued = frozenset(events.loc[events["value"].notna(), "event_type"].astype(str).unique()) \
        if "value" in events else frozenset()
    return EventLevels(_counts(events["event_type"]), _counts(events["channel"]) if "channel" in events else None,
                       valued, "value" in events)


_CLIENT_CONTRACT = {"client_id", "signup_date", "monthly_value"}


def _attribute_name(column: str) -> str:
    """Client attributes read `client_<column>`: a column called `tickets_open` or `nps_last_score`
    in a third-party extract can never collide with a feature the builders make."""
    return f"client_{slug(column)}"
RESERVED_CLIENT_FEATURES = {"tenure_days", "monthly_value"}


def learn_spec(tables: Tables, config: FeaturesConfig, levels: EventLevels | None = None) -> FeatureSpec:
    """Learn what the builders need from the training tables (already cut at the training `until`);
    `features.fit_spec` adds the feature order.

    `levels`, when given, are the event log's counts (summed over partitions by an engine that
    never holds the whole log); `tables.events` then only says which columns the log has.
    """
    sources = tuple(name for name in ("events", "surveys", "tickets") if getattr(tables, name) is not None)
    optional = {name: tuple(c for c in OPTIONAL_COLUMNS[name] if c in df.columns)
                for name, df in tables.present().items()}
    spec = FeatureSpec(config=config, sources=sources, optional_columns=optional)

    events = tables.events
    if events is not None:
        levels = levels if levels is not None else event_levels(events)
        spec.event_types = _ordered_levels(levels.event_types, config.max_event_types)
        # an event type called "Channel web" must not shadow the share of channel "web"
        slugs = [f"event_{s}" if s.startswith("channel_") or s == "events" else s
                 for s in (slug(t) for t in spec.event_types)]
        spec.event_type_names = tuple(_unique_slugs(slugs, {"events", "channel"}))
        if levels.has_value:
            spec.valued_event_types = tuple(t for t in spec.event_types if t in levels.valued_event_types)
        if levels.channels is not None:
            spec.channels = _ordered_levels(levels.channels, config.max_channels)
            spec.channel_names = tuple(_unique_slugs(list(spec.channels)))

    clients = tables.clients
    taken = set(RESERVED_CLIENT_FEATURES)
    n_clients = max(len(clients), 1)
    for column in clients.columns:
        if column in _CLIENT_CONTRACT:
            continue
        values = clients[column]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            spec.numeric_attributes[column] = _unique_slugs([_attribute_name(column)], taken)[0]
            taken.add(spec.numeric_attributes[column])
        elif pd.api.types.is_datetime64_any_dtype(values):
            spec.ignored_columns[column] = "a date attribute; static dates are not point-in-time safe"
        else:
            distinct = values.dropna().nunique()
            if distinct <= 1:
                spec.ignored_columns[column] = "a single value for every client"
            elif distinct > config.max_category_levels and distinct / n_clients > config.identifier_unique_share:
                spec.ignored_columns[column] = f"looks like an identifier ({distinct} distinct values)"
            else:
                name = _unique_slugs([_attribute_name(column)], taken)[0]
                taken.add(name)
                spec.categorical_attributes[column] = name
                spec.category_levels[name] = _top_levels(values, config.max_category_levels)
    return spec
