"""What the risk list summary says: counts, value at risk, NPS, reasons, actions, costs, changes.

`models.risk_list.summarise` builds it; `pipeline.exports` reads its attributes; `to_dict()`
gives the plain dict the score job returns in its JSON result (the same keys, in the same order,
as before the summary had a type).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from models.segments import NPS_GROUPS


@dataclass(frozen=True)
class SegmentCount:
    """Clients and their expected value at risk in one level of a segment (a band, a stage...)."""

    level: str
    clients: int
    value_at_risk: float


@dataclass(frozen=True)
class NpsMix:
    """NPS (-100..100, None when nobody answered) and how many clients are in each NPS group."""

    score: float | None
    answered: int
    counts: tuple[int, ...]  # one per NPS_GROUPS, in that order

    @classmethod
    def of(cls, nps: dict) -> NpsMix:
        """From `models.segments.portfolio_nps`'s dict."""
        return cls(score=nps["score"], answered=nps["answered"], counts=tuple(nps[g] for g in NPS_GROUPS))

    def count(self, group: str) -> int:
        return self.counts[NPS_GROUPS.index(group)]

    @property
    def total(self) -> int:
        """Every client, answered or not."""
        return sum(self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "answered": self.answered, **dict(zip(NPS_GROUPS, self.counts))}


@dataclass(frozen=True)
class ReasonCount:
    reason: str  # the feature's label, in the list's language
    feature: str
    clients: int


@dataclass(frozen=True)
class ReasonFeature:
    """A feature that gives a reason on the list, as its declaration describes it (in the list's language)."""

    feature: str
    label: str
    family: str      # the family's words
    higher_value: str  # what a higher value does to the risk, in words ("" when not known)


@dataclass(frozen=True)
class ActionCount:
    action: str  # the action's words, in the list's language
    key: str
    clients: int
    capacity: int | None  # None: no limit


@dataclass(frozen=True)
class Changes:
    """Against the previous list; the three movements are None when there was none."""

    previous_available: bool
    new_on_list: int
    left_list: int | None = None
    moved_up: int | None = None
    moved_down: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"previous_available": self.previous_available, "new_on_list": self.new_on_list}
        if self.previous_available:
            out.update(left_list=self.left_list, moved_up=self.moved_up, moved_down=self.moved_down)
        return out


# the segment tables and the column each one counts (the key of its level in `to_dict`)
SEGMENT_TABLES = {"by_band_listed": "risk_band", "by_band_portfolio": "risk_band",
                  "by_quadrant_listed": "value_quadrant", "by_loyalty_listed": "loyalty_stage"}


@dataclass(frozen=True)
class ListSummary:
    """The summary of one risk list. Money is None when the data has no monthly value."""

    lang: Literal["en", "es"]
    sort: Literal["expected_value_at_risk", "churn_probability"]
    capacity: float | None  # as configured: a count from 1, a share below 1, None: no limit
    clients_scored: int
    clients_listed: int     # the call sheet: the smaller of capacity_clients and profitable_clients
    capacity_clients: int   # the clients the team's capacity reaches
    profitable_clients: int  # up to the last client worth a contact (clients_scored without a profit cut)
    limited_by: Literal["capacity", "profit", ""]  # what ended the call sheet ("": every client listed)
    clients_beyond_cut: int  # scored clients not on the call sheet (all are in the scored Parquet)
    value_at_risk_beyond_cut: float | None
    has_monthly_value: bool
    value_horizon_months: float
    value_at_risk_total: float | None
    value_at_risk_listed: float | None
    value_at_risk_listed_share: float | None
    by_band_listed: tuple[SegmentCount, ...]
    by_band_portfolio: tuple[SegmentCount, ...]
    by_quadrant_listed: tuple[SegmentCount, ...]
    by_loyalty_listed: tuple[SegmentCount, ...]
    nps_portfolio: NpsMix
    nps_listed: NpsMix
    top_reasons: tuple[ReasonCount, ...]
    actions: tuple[ActionCount, ...]
    expected_churners: float
    acquisition_to_retention_cost_ratio: float
    retention_cost_per_client: float
    replacement_cost: float
    retention_cost_listed: float
    changes: Changes
    as_of: str
    model_version: str
    reason_features: tuple[ReasonFeature, ...] = ()  # every feature behind a reason, most cited first

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON-ready values, keyed as the score job's result has always been."""
        out: dict[str, Any] = {}
        for field in fields(self):
            name, value = field.name, getattr(self, field.name)
            if name in SEGMENT_TABLES:
                column = SEGMENT_TABLES[name]
                value = [{column: r.level, "clients": r.clients, "value_at_risk": r.value_at_risk} for r in value]
            elif name == "top_reasons":
                value = [{"reason": r.reason, "feature": r.feature, "clients": r.clients} for r in value]
            elif name == "actions":
                value = [{"action": a.action, "key": a.key, "clients": a.clients, "capacity": a.capacity}
                         for a in value]
            elif name == "reason_features":
                value = [{"feature": r.feature, "label": r.label, "family": r.family, "higher_value": r.higher_value}
                         for r in value]
            elif isinstance(value, (NpsMix, Changes)):
                value = value.to_dict()
            out[name] = value
        return out
