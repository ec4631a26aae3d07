"""The pyfunc model, logged as code (MLflow "models from code"): no pickled Python object.

Every part is read as data: the booster in LightGBM's own text format, the spec, info and
calibrator from JSON (`spec.json`), the blend's linear part (if any) from JSON (`linear.json`), the
activity forecasters (if any) as LightGBM text inside JSON (`forecasts.json`).
The registry checks the SHA-256 of this file and of every artifact before MLflow imports it
(`registry.load_model`). MLflow calls `load_context` and `predict` with keyword arguments, so
`context` and `model_input` are part of the interface.
"""

import json

import lightgbm as lgb
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from models.bundle import ModelBundle
from models.forecasts import ActivityForecast
from models.linear import LinearPart


class ChurnModel(PythonModel):
    """Features in (columns by name), churn probability out."""

    def load_context(self, context):
        booster = lgb.Booster(model_file=context.artifacts["booster"])
        with open(context.artifacts["spec"], encoding="utf-8") as handle:
            parts = handle.read()
        linear = context.artifacts.get("linear")  # the blend's logistic regression, when the model has one
        if linear is not None:
            with open(linear, encoding="utf-8") as handle:
                linear = LinearPart.from_dict(json.load(handle))
        forecast = context.artifacts.get("forecasts")  # the activity forecasters, when the model has them
        if forecast is not None:
            with open(forecast, encoding="utf-8") as handle:
                forecast = ActivityForecast.from_dict(json.load(handle))
        self.bundle = ModelBundle.from_parts_json(booster, parts, linear, forecast)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.bundle.predict(model_input)})


mlflow.models.set_model(ChurnModel())
