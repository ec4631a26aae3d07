"""Copies of a generated folder with one thing changed: the hostile data that tests and benchmarks
feed the readers and gates (a 1 MB client_id, an event dated in 2100, a table missing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

Edit = Callable[[str, pd.DataFrame], "pd.DataFrame | None"]


def altered_copy(source: Path, target: Path, edit: Edit) -> Path:
    """The contract tables (Parquet) of `source` written to `target` through `edit(table name, frame)`,
    which returns the frame to write, or None to leave the table out; truth.parquet is not copied."""
    target = Path(target)
    target.mkdir(parents=True)
    for path in sorted(Path(source).glob("*.parquet")):
        if path.stem == "truth":
            continue
        frame = edit(path.stem, pd.read_parquet(path))
        if frame is not None:
            frame.to_parquet(target / path.name, index=False)
    return target


def with_extra_row(frame: pd.DataFrame, **values) -> pd.DataFrame:
    """`frame` and one more row: a copy of its first with `values` (only the columns it has)."""
    extra = frame.head(1).assign(**{k: v for k, v in values.items() if k in frame})
    return pd.concat([frame, extra], ignore_index=True)
