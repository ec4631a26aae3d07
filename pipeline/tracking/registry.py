"""MLflow: tracking runs, the pyfunc model, the registry and its aliases.

The model is a pyfunc logged from code (`pyfunc_model.py`) whose artifacts we serialise
ourselves: the booster in LightGBM's own text format and the FeatureSpec with joblib
(MLflow's sklearn flavour refuses tree models as "untrusted types").
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from features.errors import ContractError
from models.bundle import ModelBundle

DEFAULT_DB = "mlflow.db"


def default_tracking_uri(directory: Path | None = None) -> str:
    """A sqlite store in the working directory: nothing to start."""
    return f"sqlite:///{(Path(directory or Path.cwd()) / DEFAULT_DB).resolve()}"


def configure(tracking_uri: str) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def ensure_experiment(name: str, tracking_uri: str) -> str:
    """The experiment id; artifacts of a local sqlite store live beside the database file."""
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        db = Path(tracking_uri[len("sqlite:///"):])
        location = (db.parent / "mlartifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def log_bundle(bundle: ModelBundle, example: pd.DataFrame, model_name: str) -> tuple[str, str]:
    """Log the bundle in the active run and register it; returns (version, model_uri)."""
    with tempfile.TemporaryDirectory() as tmp:
        booster_path = Path(tmp) / "booster.txt"
        spec_path = Path(tmp) / "spec.joblib"
        bundle.booster.save_model(str(booster_path))
        joblib.dump({"spec": bundle.spec, "info": bundle.info, "calibrator": bundle.calibrator}, spec_path)
        artifacts = {"booster": str(booster_path), "spec": str(spec_path)}
        if bundle.linear is not None:  # the blend's logistic regression, as numbers
            artifacts["linear"] = str(Path(tmp) / "linear.json")
            Path(artifacts["linear"]).write_text(json.dumps(bundle.linear.to_dict()))
        sample = example.reindex(columns=list(bundle.spec.feature_names)).astype(np.float32)
        signature = infer_signature(sample, pd.DataFrame({"churn_probability": bundle.predict(sample)}))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            artifacts=artifacts,
            signature=signature,
            input_example=sample.head(3),
            registered_model_name=model_name,
            pip_requirements=_requirements(),
        )
    version = str(info.registered_model_version)
    return version, f"models:/{model_name}/{version}"


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "lightgbm", "pandas", "numpy", "joblib",
                                                  "scikit-learn", "pydantic", "churn-pipeline")]


@dataclass
class LoadedModel:
    bundle: ModelBundle
    pyfunc: Any
    uri: str
    version: str  # registry version, or "unregistered"


def load_model(uri: str) -> LoadedModel:
    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        message = str(exc).splitlines()[0]
        raise ContractError(f"cannot load model '{uri}': {message}. Train one first (churn train) or pass --model",
                            file="--model") from None
    version = "unregistered"
    if uri.startswith("models:/"):
        name, _, ref = uri[len("models:/"):].partition("@")
        client = MlflowClient()
        if ref:
            version = str(client.get_model_version_by_alias(name, ref).version)
        else:
            last = uri.rstrip("/").rsplit("/", 1)[-1]
            version = last if last.isdigit() else "unregistered"  # models:/m-<id> is a logged model
    return LoadedModel(bundle=pyfunc.unwrap_python_model().bundle, pyfunc=pyfunc, uri=uri, version=version)


def champion(model_name: str, alias: str) -> tuple[str, dict[str, str]] | None:
    """(version, tags) of the model holding `alias`, or None when there is none yet."""
    client = MlflowClient()
    try:
        found = client.get_model_version_by_alias(model_name, alias)
    except MlflowException:
        return None
    return str(found.version), dict(found.tags)


def tag_version(model_name: str, version: str, tags: dict[str, Any]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, str(value))


def set_alias(model_name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(model_name, alias, version)


def log_json(payload: Any, artifact_file: str) -> None:
    mlflow.log_text(json.dumps(payload, indent=2, sort_keys=True, default=str), artifact_file)


def log_frame(frame: pd.DataFrame, artifact_file: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / artifact_file
        frame.to_parquet(path, index=False)
        mlflow.log_artifact(str(path))


def log_text(text: str, artifact_file: str) -> None:
    mlflow.log_text(text, artifact_file)


def log_bytes(data: bytes, artifact_file: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / artifact_file
        path.write_bytes(data)
        mlflow.log_artifact(str(path))


def version_exists(model_name: str, version: str) -> bool:
    try:
        MlflowClient().get_model_version(model_name, str(version))
    except MlflowException:
        return False
    return True
