"""Quarantine files: the rows set aside, as written, with their `reason`, safe to open.

A text cell a spreadsheet would run as a formula (leading =, +, -, @, tab, carriage return) gets
the list's leading apostrophe (`exports.tabular.neutralise`); times are written as ISO text by
NumPy, so a year 10000 read from Parquet is shown, not a crash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _cells(values: pd.Series, neutralise) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        naive = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
        # as pandas writes them: a day alone when every naive time is midnight (a date column)
        days_only = values.dt.tz is None and bool((naive.dropna() == naive.dropna().dt.normalize()).all())
        written = np.datetime_as_string(naive.to_numpy(), unit="D" if days_only else "s")
        suffix = "+00:00" if values.dt.tz is not None else ""
        return pd.Series([f"{w.replace('T', ' ')}{suffix}" for w in written], index=values.index,
                         dtype=object).where(values.notna(), None)
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(object).where(values.notna(), None)
    if pd.api.types.is_string_dtype(values) or values.dtype == object:
        return values.map(lambda v: neutralise(v) if isinstance(v, str) else v)
    return values


def quarantine_csv(rows: pd.DataFrame) -> bytes:
    """The rows as CSV bytes (UTF-8, a header), every formula trigger neutralised."""
    from pipeline.exports.tabular import neutralise  # here: the exports package imports charts and templates

    cells = pd.DataFrame({c: _cells(rows[c], neutralise) for c in rows.columns}, index=rows.index)
    return cells.to_csv(index=False).encode("utf-8")
