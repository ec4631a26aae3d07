"""The pyfunc model, logged as code (MLflow "models from code"): no pickled Python object.

The booster is stored in LightGBM's own text format and the FeatureSpec with joblib; MLflow
calls `load_context` and `predict` with keyword arguments, so `context` and `model_input`
are part of the interface.
"""

import joblib
import lightgbm as lgb
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from models.bundle import ModelBundle


class ChurnModel(PythonModel):
    """Features in (columns by name), churn probability out."""

    def load_context(self, context):
        booster = lgb.Booster(model_file=context.artifacts["booster"])
        payload = joblib.load(context.artifacts["spec"])
        self.bundle = ModelBundle(booster=booster, spec=payload["spec"], info=payload["info"],
                                  calibrator=payload.get("calibrator"))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return pd.DataFrame({"churn_probability": self.bundle.predict(model_input)})


mlflow.models.set_model(ChurnModel())
