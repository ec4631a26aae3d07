"""Client attributes: tenure, value, and every extra column of the clients table.

Numeric columns become numeric features; string columns categorical ones, with the levels
seen at training (a level first seen at scoring reads as missing, not as a crash). These are
static facts about a client, not behaviour: declared not actionable, with no known direction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import cutoffs
from features.declarations import LOWERS, UNKNOWN, Feature, Words
from features.spec import FeatureSpec
from features.tables import Tables

TENURE = Feature("tenure_days", "clients", "tenure", "days", LOWERS, False,
                 Words("tenure (days since signup)", "antigüedad (días desde el alta)"),
                 Words("client for {v:duration}", "cliente desde hace {v:duration}"))
MONTHLY_VALUE = Feature("monthly_value", "clients", "value", "money", UNKNOWN, False,
                        Words("monthly value", "valor mensual"), Words("monthly value {v}", "valor mensual {v}"))


def numeric_attribute(column: str, name: str) -> Feature:
    return Feature(name, "clients", "profile", "number", UNKNOWN, False,
                   Words("{attribute} (clients column, a number)", "{attribute} (columna de clientes, un número)"),
                   Words("{attribute}: {value}", "{attribute}: {value}"), term=column, term_kind="attribute")


def categorical_attribute(column: str, name: str, levels: tuple[str, ...]) -> Feature:
    return Feature(name, "clients", "profile", "category", UNKNOWN, False,
                   Words("{attribute} (clients column, a category)",
                         "{attribute} (columna de clientes, una categoría)"),
                   Words("{attribute}: {level}", "{attribute}: {level}"), levels=tuple(levels), term=column,
                   term_kind="attribute")


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`."""
    index = pd.Index(tables.clients["client_id"].astype(str).to_numpy(), name="client_id")
    return pd.DataFrame({f.name: values for f, values in columns(tables, cutoff, spec).items()}, index=index)


def columns(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> dict[Feature, np.ndarray]:
    """Each declared feature with one value per row of `tables.clients`."""
    clients = tables.clients
    out: dict[Feature, np.ndarray] = {
        TENURE: cutoffs.age_in_days(clients["signup_date"], cutoff).astype(np.float64),
    }
    if spec.has_column("clients", "monthly_value"):
        out[MONTHLY_VALUE] = (clients["monthly_value"].to_numpy(dtype=np.float64, na_value=np.nan)
                              if "monthly_value" in clients else np.full(len(clients), np.nan))
    for column, name in spec.numeric_attributes.items():
        out[numeric_attribute(column, name)] = (
            pd.to_numeric(clients[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            if column in clients else np.full(len(clients), np.nan))
    for column, name in spec.categorical_attributes.items():
        levels = spec.category_levels[name]
        values = clients[column].astype("string") if column in clients else pd.Series(pd.NA, index=clients.index)
        codes = pd.Categorical(values, categories=list(levels)).codes.astype(np.float64)
        out[categorical_attribute(column, name, levels)] = np.where(codes < 0, np.nan, codes)
    return out
