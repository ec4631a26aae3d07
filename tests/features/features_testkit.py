"""Helpers for tiny inline contract tables: values written exactly as a CSV would hold them.

A plain module (not conftest.py) so tests import it by a name no other test folder uses.
"""

from __future__ import annotations

import pandas as pd

from features import cutoffs, fit_spec
from features.spec import FeaturesConfig, FeatureSpec
from features.tables import Tables
from pipeline.data.contract import tables_from_frames

# Every test works at the same cutoff unless it says otherwise: the end of Sunday 31 March 2024.
T = pd.Timestamp("2024-03-31")

COLUMNS = {
    "clients": ("client_id", "signup_date"),
    "events": ("client_id", "timestamp", "event_type"),
    "surveys": ("client_id", "answered_at", "score"),
    "tickets": ("ticket_id", "client_id", "opened_at"),
    "churn": ("client_id", "churned_at"),
}


def frame(table: str, rows: list[tuple], *extra: str) -> pd.DataFrame:
    """A raw frame of `table` with its required columns followed by `extra` optional ones."""
    return pd.DataFrame(rows, columns=[*COLUMNS[table], *extra], dtype=object)


def make_tables(clients: pd.DataFrame | None = None, **others: pd.DataFrame) -> Tables:
    """Typed tables through the real contract reader; default: clients a, b, c signed up on 1 Jan 2024."""
    if clients is None:
        clients = frame("clients", [("a", "2024-01-01"), ("b", "2024-01-01"), ("c", "2024-01-01")])
    result = tables_from_frames({"clients": clients, **others})
    # a test table that breaks the contract is a mistake in the test, not data to set aside
    rejected = {name: r.reasons for name, r in result.reports.items() if r.rows_quarantined}
    assert not rejected, rejected
    return result.tables


def spec_for(tables: Tables, **config: object) -> FeatureSpec:
    return fit_spec(tables, FeaturesConfig(**config))


def build_one(module, tables: Tables, cutoff: pd.Timestamp = T, spec: FeatureSpec | None = None) -> pd.DataFrame:
    """One builder's frame (indexed by client_id) from what was known at `cutoff`."""
    spec = spec if spec is not None else spec_for(tables)
    return module.build(cutoffs.as_of(tables, cutoff), cutoff, spec)

