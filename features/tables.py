"""The contract tables as typed frames.

After `pipeline.data` has read and validated a folder, every table holds:
- `client_id` as a pandas Categorical whose categories are the clients table's ids (sorted),
  shared by every table, so builders aggregate on integer codes without string work;
- datetimes as naive UTC `datetime64[ns]` (dates at midnight);
- `events` sorted by timestamp (the time module slices it with a binary search).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import pandas as pd

# The contract (../shared/DATA_CONTRACT.md): required and optional columns per table.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "clients": ("client_id", "signup_date"),
    "events": ("client_id", "timestamp", "event_type"),
    "surveys": ("client_id", "answered_at", "score"),
    "tickets": ("ticket_id", "client_id", "opened_at"),
    "churn": ("client_id", "churned_at"),
}
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "clients": ("monthly_value",),
    "events": ("channel", "value"),
    "surveys": ("comment",),
    "tickets": ("first_response_at", "resolved_at", "priority", "category", "satisfaction"),
    "churn": (),
}
TABLE_NAMES: tuple[str, ...] = tuple(REQUIRED_COLUMNS)


@dataclass(frozen=True)
class Tables:
    """One attribute per contract table; an absent optional table is None."""

    clients: pd.DataFrame
    events: pd.DataFrame | None = None
    surveys: pd.DataFrame | None = None
    tickets: pd.DataFrame | None = None
    churn: pd.DataFrame | None = None

    def replace(self, **changes: pd.DataFrame | None) -> Tables:
        return replace(self, **changes)

    def present(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    @property
    def client_categories(self) -> pd.Index:
        return self.clients["client_id"].cat.categories
