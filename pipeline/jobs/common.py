"""What several jobs share: the generator's truth (read for evaluation only) and the evaluation charts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models.validation import Curves
from pipeline.exports import charts

TRUTH_FILE = "truth.parquet"


def read_truth(data: Path | str) -> pd.DataFrame | None:
    """The generator's own probabilities (generated data only), read for evaluation after fitting:
    training never sees them."""
    path = Path(str(data)) / TRUTH_FILE
    if "://" in str(data) or not path.is_file():
        return None
    return pd.read_parquet(path, columns=["client_id", "as_of", "p_true"])


def evaluation_pictures(curves: Curves) -> dict[str, bytes]:
    """The evaluation charts of a graded model, as PNG files by name."""
    return {"reliability.png": charts.reliability(curves.reliability),
            "gains_and_lift.png": charts.gains(curves.gains),
            "expected_profit.png": charts.profit(curves.profit, curves.capacity_share)}
