"""ModelBundle: the booster plus the FeatureSpec it was trained with; what the registry stores."""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import categorical_features
from features.spec import FeatureSpec
from models.calibration import Calibrator
from models.linear import LinearPart, blend, sigmoid

PARALLEL_ROWS = 20_000


@dataclass
class ModelBundle:
    booster: lgb.Booster
    spec: FeatureSpec
    info: dict = field(default_factory=dict)  # horizon, cutoffs, validation window, ...
    calibrator: Calibrator | None = None
    linear: LinearPart | None = None  # blended with the booster on the log-odds scale (models.linear)

    def predict_raw(self, features: pd.DataFrame) -> np.ndarray:
        """The model's probability before calibration: the booster's, blended with the linear part's
        when there is one; columns are aligned to the spec's order by name."""
        matrix = features.reindex(columns=list(self.spec.feature_names)).to_numpy(dtype=np.float32)
        # every core for a big matrix; one thread for a handful of rows, where threads cost more than they save
        threads = 0 if len(matrix) >= PARALLEL_ROWS else 1
        if self.linear is None:
            return self.booster.predict(matrix, num_threads=threads)
        tree = self.booster.predict(matrix, raw_score=True, num_threads=threads)
        return sigmoid(blend(self.linear.margin(features), tree, self.linear.weight))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability per row (raw when the model has no calibrator)."""
        raw = self.predict_raw(features)
        return raw if self.calibrator is None else self.calibrator.transform(raw)

    @property
    def typical(self) -> dict[str, float | None] | None:
        """The typical client's value of each feature (`models.explain.typical_values`), from which
        a reason's risky side is measured; None for a model stored before they were kept."""
        return self.info.get("typical")

    def importance(self) -> np.ndarray:
        """Each feature's total gain in the booster, in the spec's order (what the model weighs most)."""
        gain = dict(zip(self.booster.feature_name(), self.booster.feature_importance("gain")))
        return np.array([float(gain.get(name, 0.0)) for name in self.spec.feature_names])

    @property
    def categorical(self) -> list[str]:
        return categorical_features(self.spec)
