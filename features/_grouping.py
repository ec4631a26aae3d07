"""Small vectorised group helpers shared by the builders: everything keyed on client codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.declarations import Feature
from features.tables import Tables


def n_codes(tables: Tables) -> int:
    return len(tables.client_categories)


def codes(df: pd.DataFrame) -> np.ndarray:
    """Integer client codes of a table (shared categories across all tables)."""
    return df["client_id"].cat.codes.to_numpy(dtype=np.int64)


def count_per_client(client_codes: np.ndarray, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(client_codes, weights=weights, minlength=n).astype(np.float64)


def last_per_client(client_codes: np.ndarray, order_key: np.ndarray, n: int) -> np.ndarray:
    """Position (in the given arrays) of each client's row with the largest `order_key`; -1 if none."""
    out = np.full(n, -1, dtype=np.int64)
    if len(client_codes) == 0:
        return out
    order = np.lexsort((order_key, client_codes))
    sorted_codes = client_codes[order]
    is_last = np.r_[sorted_codes[1:] != sorted_codes[:-1], True]
    out[sorted_codes[is_last]] = order[is_last]
    return out


def previous_per_client(client_codes: np.ndarray, order_key: np.ndarray, n: int) -> np.ndarray:
    """Position of each client's second-latest row; -1 when it has fewer than two."""
    out = np.full(n, -1, dtype=np.int64)
    if len(client_codes) < 2:
        return out
    order = np.lexsort((order_key, client_codes))
    sorted_codes = client_codes[order]
    is_last = np.r_[sorted_codes[1:] != sorted_codes[:-1], True]
    has_previous = np.r_[False, sorted_codes[1:] == sorted_codes[:-1]]
    previous_of_last = np.flatnonzero(is_last & has_previous) - 1
    out[sorted_codes[previous_of_last]] = order[previous_of_last]
    return out


def take(values: np.ndarray, positions: np.ndarray, fill: float = np.nan) -> np.ndarray:
    """values[positions] with `fill` where position is -1."""
    out = np.full(len(positions), fill, dtype=np.float64)
    found = positions >= 0
    out[found] = values[positions[found]]
    return out


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is 0 (undefined, not zero)."""
    out = np.full(len(numerator), np.nan)
    ok = denominator > 0
    out[ok] = numerator[ok] / denominator[ok]
    return out


def rows_for_clients(tables: Tables, columns: dict[Feature, np.ndarray]) -> pd.DataFrame:
    """Per-code arrays of declared features -> one row per client of `tables.clients`, indexed by
    client_id, one column per feature named by its declaration."""
    client_codes = codes(tables.clients)
    index = pd.Index(tables.clients["client_id"].astype(str).to_numpy(), name="client_id")
    return pd.DataFrame({feature.name: values[client_codes] for feature, values in columns.items()}, index=index)
