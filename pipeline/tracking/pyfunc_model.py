"""The pyfunc model, logged as code (MLflow "models from code"): no pickled Python object.

The booster is stored in LightGBM's own text format, the blend's linear part (if any) as JSON and
the FeatureSpec with joblib; MLflow calls `load_context` and `predict` with keyword arguments, so
`context` and `model_input` are part of the interface.
"""

import json

import joblib
import lightgbm as lgb
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from models.bundle import ModelBundle
from models.linear import LinearPart


class ChurnModel(PythonModel):
    """Features in (columns by name), churn probability out."""

    def load_context(self, context):
        booster = lgb.Booster(model_file=context.artifacts["booster"])
        payload = joblib.load(context.artifacts["spec"])
        linear = context.artifacts.get("linear")  # the blend's logistic regression, when the model has one
        if linear is not None:
            with open(linear, encoding="utf-8") as handle:
                linear = LinearPart.from_dict(json.load(handle))
        self.bundle = ModelBundle(booster=booster, spec=payload["spec"], info=payload["info"],
                                  calibrator=payload.get("calibrator"), linear=linear)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.bundle.predict(model_input)})


mlflow.models.set_model(ChurnModel())
