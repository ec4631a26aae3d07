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
TIME_COLUMNS: dict[str, tuple[str, ...]] = {
    "clients": ("signup_date",),
    "events": ("timestamp",),
    "surveys": ("answered_at",),
    "tickets": ("opened_at", "first_response_at", "resolved_at"),
    "churn": ("churned_at",),
}
# repeated text held as pandas categoricals once read
CATEGORY_COLUMNS: dict[str, tuple[str, ...]] = {"events": ("event_type", "channel"),
                                                 "tickets": ("priority", "category")}
# free text, held to a longer limit than identifiers and codes (data.max_comment_length)
FREE_TEXT_COLUMNS: dict[str, tuple[str, ...]] = {"surveys": ("comment",)}


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

    @staticmethod
    def empty(columns: dict[str, tuple[str, ...]]) -> Tables:
        """Tables with no row and the given columns per table, typed as read data is: a build on
        them costs nothing and shows which features a spec makes."""
        ids = pd.Categorical([], categories=pd.Index([], dtype=object))

        def column(table: str, name: str) -> pd.Series:
            if name == "client_id":
                return pd.Series(ids)
            if name in TIME_COLUMNS.get(table, ()):
                return pd.Series([], dtype="datetime64[ns]")
            return pd.Series([], dtype="category" if name in CATEGORY_COLUMNS.get(table, ()) else "float64")

        return Tables(**{table: pd.DataFrame({name: column(table, name) for name in names})
                         for table, names in columns.items()})

    @property
    def client_categories(self) -> pd.Index:
        return self.clients["client_id"].cat.categories
