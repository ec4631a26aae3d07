"""ModelBundle: the booster plus the FeatureSpec it was trained with; what the registry stores.

Stored as data, never as pickled objects: the booster in LightGBM's own text format, the linear part
as numbers (`LinearPart.to_dict`), the activity forecasters as LightGBM text in one JSON document
(`ActivityForecast.to_dict`), and the spec, info and calibrator as one JSON document
(`parts_json`, read back by `from_parts_json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import categorical_features
from features.spec import FeatureSpec
from models.calibration import Calibrator
from models.forecasts import ActivityForecast
from models.linear import LinearPart, blend, sigmoid

PARALLEL_ROWS = 20_000
PARTS_FORMAT = 1  # the layout of `parts_json`; a reader refuses another


def _json_ready(value: Any, where: str) -> None:
    """Refuse what JSON would change on the way back (a tuple read back as a list, a numpy scalar, a
    non-string key): `info` must round-trip exactly, never be silently stringified."""
    if value is None or type(value) in (str, int, float, bool):
        return
    if type(value) is list:
        for k, item in enumerate(value):
            _json_ready(item, f"{where}[{k}]")
    elif type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{where}: key {key!r} is not a string")
            _json_ready(item, f"{where}.{key}")
    else:
        raise TypeError(f"{where}: {type(value).__name__} is not stored exactly as JSON")


@dataclass
class ModelBundle:
    booster: lgb.Booster
    spec: FeatureSpec
    info: dict = field(default_factory=dict)  # horizon, cutoffs, validation window, ...
    calibrator: Calibrator | None = None
    linear: LinearPart | None = None  # blended with the booster on the log-odds scale (models.linear)
    forecast: ActivityForecast | None = None  # activity forecasts the booster reads too (models.forecasts)

    @property
    def inputs(self) -> list[str]:
        """What the booster reads, in order: the spec's features, then the forecasts when there are."""
        return list(self.spec.feature_names) + ([] if self.forecast is None else list(self.forecast.names))

    def model_frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """`features` as the booster and the linear part read them: with the forecasts added."""
        return features if self.forecast is None else self.forecast.augment(features)

    def predict_raw(self, features: pd.DataFrame) -> np.ndarray:
        """The model's probability before calibration: the booster's, blended with the linear part's
        when there is one; columns are aligned to the spec's order by name."""
        features = self.model_frame(features)
        matrix = features.reindex(columns=self.inputs).to_numpy(dtype=np.float32)
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
        """Each feature's total gain in the booster, in the spec's order (what the model weighs most);
        a forecast's gain is its source count's (models.forecasts)."""
        gain = dict(zip(self.booster.feature_name(), self.booster.feature_importance("gain")))
        values = np.array([float(gain.get(name, 0.0)) for name in self.inputs])
        names = list(self.spec.feature_names)
        return values if self.forecast is None else self.forecast.fold_onto_sources(values, names)

    @property
    def categorical(self) -> list[str]:
        return categorical_features(self.spec)

    def parts_json(self) -> str:
        """The spec, info and calibrator as one JSON document (spec.json beside the booster).

        Python's JSON: NaN and infinities (drift bin edges) are written as NaN / Infinity and read back.
        """
        _json_ready(self.info, "info")
        return json.dumps({"format": PARTS_FORMAT, "spec": self.spec.to_dict(), "info": self.info,
                           "calibrator": None if self.calibrator is None else self.calibrator.to_dict()},
                          indent=1)

    @classmethod
    def from_parts_json(cls, booster: lgb.Booster, text: str, linear: LinearPart | None = None,
                        forecast: ActivityForecast | None = None) -> ModelBundle:
        """The bundle whose `parts_json` is `text`, around its booster, linear part and forecasts."""
        parts = json.loads(text)
        if parts.get("format") != PARTS_FORMAT:
            raise ValueError(f"spec.json: format {parts.get('format')!r}, this code reads {PARTS_FORMAT}")
        calibrator = None if parts["calibrator"] is None else Calibrator.from_dict(parts["calibrator"])
        return cls(booster=booster, spec=FeatureSpec.from_dict(parts["spec"]), info=parts["info"],
                   calibrator=calibrator, linear=linear, forecast=forecast)
