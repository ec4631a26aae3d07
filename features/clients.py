"""Client attributes: tenure, value, and every extra column of the clients table.

Numeric columns become numeric features; string columns categorical ones, with the levels
seen at training (a level first seen at scoring reads as missing, not as a crash).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import cutoffs
from features.spec import FeatureSpec
from features.tables import Tables


def build(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec) -> pd.DataFrame:
    """One row per client of `tables.clients`."""
    clients = tables.clients
    index = pd.Index(clients["client_id"].astype(str).to_numpy(), name="client_id")
    columns: dict[str, np.ndarray] = {
        "tenure_days": cutoffs.age_in_days(clients["signup_date"], cutoff).astype(np.float64),
    }
    if spec.has_column("clients", "monthly_value"):
        columns["monthly_value"] = (clients["monthly_value"].to_numpy(dtype=np.float64, na_value=np.nan)
                                    if "monthly_value" in clients else np.full(len(clients), np.nan))
    for column, name in spec.numeric_attributes.items():
        columns[name] = (pd.to_numeric(clients[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
                         if column in clients else np.full(len(clients), np.nan))
    for column, name in spec.categorical_attributes.items():
        levels = spec.category_levels[name]
        values = clients[column].astype("string") if column in clients else pd.Series(pd.NA, index=clients.index)
        codes = pd.Categorical(values, categories=list(levels)).codes.astype(np.float64)
        columns[name] = np.where(codes < 0, np.nan, codes)
    return pd.DataFrame(columns, index=index)
