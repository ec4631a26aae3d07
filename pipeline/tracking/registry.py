"""MLflow: tracking runs, the pyfunc model, the registry and its aliases.

The model is a pyfunc logged from code (`pyfunc_model.py`) whose artifacts we write as data:
the booster in LightGBM's own text format, the spec, info and calibrator as JSON (`spec.json`),
the blend's linear part as JSON (`linear.json`). Nothing is pickled.

Trust boundary: the registry database and the installed code are trusted; the artifact store is
not. At registration the SHA-256 of every file of the logged model (MLmodel, the code file
`pyfunc_model.py` as MLflow stored it, booster.txt, spec.json, ...) is recorded on the registered
version (`RECORD_TAG`); `load_model` downloads the model folder, hashes every file and compares
with that record before MLflow parses a file or imports the code.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from features.errors import ContractError
from models.bundle import ModelBundle
from pipeline.data.reading import sha256_of_file
from pipeline.tracking import environment

RECORD_TAG = "artifact_sha256"
RECORD_FILE = "model_files_sha256.json"  # the run's record of the model's files (path -> SHA-256)
# MLflow writes this file into a model folder it downloads by a models:/ URI (on a local store, into
# the stored folder itself): its own note of name and version, never part of the record; it is
# dropped from the downloaded copy, so it is never read either
MLFLOW_DOWNLOAD_NOTE = "registered_model_meta"
RETRAIN = "retrain (churn train) or re-register the model"
# MLflow's record of what an experiment is for: model training, not GenAI. MLflow 3.17's UI does not
# read it to choose the pages it shows: its GenAI / Model training switch does (`?workflowType=
# machine_learning` in a link, else what the browser remembers, else GenAI and its traces overview)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# what the registry answers for a model, version or alias that is not there (a sqlite store and a
# tracking server alike); any other failure (a server that does not answer) is not "absent"
ABSENT = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")

def configure(tracking_uri: str, create: bool = True) -> None:
    """Point MLflow at the store; a new sqlite store is created under a file lock beside the database,
    so two first runs on it do not race MLflow's migration (one of them would fail). With `create`
    off (commands that only read a model: score, evaluate, promote), a sqlite file that does not exist
    is a ContractError naming it, not a new empty store."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    if urlparse(tracking_uri).scheme == "sqlite":
        db = Path(tracking_uri[len("sqlite:///"):])
        if not create and not db.exists():
            raise ContractError(f"no MLflow store at {db}: nothing was trained into it. Train first (churn train), "
                                "or point at the store that holds the model (MLFLOW_TRACKING_URI or "
                                "registry.tracking_uri)", file=str(db))
        with _store_lock(db):
            client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
            client.search_experiments(max_results=1)  # the tracking tables (and the migration), made once
            client.search_registered_models(max_results=1)  # the registry's


@contextmanager
def _store_lock(db: Path) -> Iterator[None]:
    """An exclusive lock on <db>.lock for the time MLflow opens (and, the first time, creates) the store."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_experiment(name: str, tracking_uri: str) -> str:
    """The experiment id; artifacts of a local sqlite store live beside the database file (a tracking
    server chooses its own location: with --serve-artifacts, mlflow-artifacts:/<id>). The experiment is
    tagged as model training (`EXPERIMENT_KIND`); an experiment made before gets the tag too."""
    client = MlflowClient()
    found = client.get_experiment_by_name(name)
    if found is None:
        location = None
        if urlparse(tracking_uri).scheme == "sqlite":
            db = Path(tracking_uri[len("sqlite:///"):])
            location = (db.parent / "mlartifacts").resolve().as_uri()
        try:
            return client.create_experiment(name, artifact_location=location, tags=EXPERIMENT_KIND)
        except MlflowException:  # another first run created it in the meantime
            found = client.get_experiment_by_name(name)
            if found is None:
                raise
    for key, value in EXPERIMENT_KIND.items():
        if found.tags.get(key) != value:
            client.set_experiment_tag(found.experiment_id, key, value)
    return found.experiment_id


def log_bundle(bundle: ModelBundle, example: pd.DataFrame, model_name: str, tags: dict[str, str] | None = None
               ) -> tuple[str, str]:
    """Log the bundle in the active run and register it with the SHA-256 of every file MLflow stored;
    returns (version, model_uri). `tags` go on the version in the same call (one transaction).

    The record (path -> SHA-256, compact JSON) is pinned by one tag on the registered version
    (`RECORD_TAG`: the SHA-256 of that JSON, 64 characters a person can read on the registry page), set
    as the version is created (`register_model(tags=...)`): it lives in the registry database, which a
    replaced artifact cannot rewrite, it is read in the same call that resolves the version scoring
    asks for (alias or number), and a version never exists without it. The record itself is the run's
    `RECORD_FILE`: untrusted like any artifact, it is used only when its own digest is the tag's, to
    name the files that differ.
    """
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = _write_artifacts(bundle, Path(tmp))
        sample = example.reindex(columns=list(bundle.spec.feature_names)).astype(np.float32)
        signature = infer_signature(sample, pd.DataFrame({"churn_probability": bundle.predict(sample)}))
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("pyfunc_model.py")),
            artifacts=artifacts,
            signature=signature,
            input_example=sample.head(3),
            pip_requirements=_requirements(),
        )
    location = MlflowClient().get_logged_model(info.model_id).artifact_location
    with tempfile.TemporaryDirectory() as tmp:
        record = folder_hashes(_download(location, Path(tmp)))
    mlflow.log_text(_compact(record), RECORD_FILE)
    found = mlflow.register_model(info.model_uri, model_name,
                                  tags={**(tags or {}), RECORD_TAG: record_digest(record)})
    version = str(found.version)
    return version, f"models:/{model_name}/{version}"


def _write_artifacts(bundle: ModelBundle, folder: Path) -> dict[str, str]:
    """The model's parts as files of data: booster.txt, spec.json and, with a blend, linear.json; with
    activity forecasts, forecasts.json."""
    artifacts = {"booster": folder / "booster.txt", "spec": folder / "spec.json"}
    bundle.booster.save_model(str(artifacts["booster"]))
    artifacts["spec"].write_text(bundle.parts_json(), encoding="utf-8")
    if bundle.linear is not None:  # the blend's logistic regression, as numbers
        artifacts["linear"] = folder / "linear.json"
        artifacts["linear"].write_text(json.dumps(bundle.linear.to_dict()), encoding="utf-8")
    if bundle.forecast is not None:  # the activity forecasters, LightGBM text in one JSON document
        artifacts["forecasts"] = folder / "forecasts.json"
        artifacts["forecasts"].write_text(json.dumps(bundle.forecast.to_dict()), encoding="utf-8")
    return {key: str(path) for key, path in artifacts.items()}


def _compact(record: dict[str, str]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def record_digest(record: dict[str, str]) -> str:
    """The SHA-256 of a record of files (its compact JSON): what the version's tag holds."""
    return hashlib.sha256(_compact(record).encode("utf-8")).hexdigest()


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "lightgbm", "pandas", "numpy", "scikit-learn",
                                                  "pydantic", "churn-pipeline")]


def _download(location: str, into: Path) -> Path:
    """A copy of the stored model folder (its storage location, never a models:/ URI, so MLflow adds
    nothing), without MLflow's download note."""
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=str(into)))
    (local / MLFLOW_DOWNLOAD_NOTE).unlink(missing_ok=True)
    return local


def folder_hashes(folder: Path) -> dict[str, str]:
    """The SHA-256 of every file under `folder`, by its path relative to it (posix)."""
    return {path.relative_to(folder).as_posix(): sha256_of_file(path)
            for path in sorted(folder.rglob("*")) if path.is_file()}


def check_folder(folder: Path, recorded: dict[str, str], label: str, location: str) -> None:
    """Every file of `folder` is the one recorded at registration, and nothing else is there: else a
    ContractError naming the first file that differs and how many do."""
    found = folder_hashes(folder)
    problems = []
    for name in sorted(set(recorded) | set(found)):
        if name not in found:
            problems.append((name, f"artifact {name} of {label} is missing (it was recorded at registration)"))
        elif name not in recorded:
            problems.append((name, f"artifact {name} of {label} was not there at registration"))
        elif found[name] != recorded[name]:
            problems.append((name, f"artifact {name} of {label} does not match its SHA-256 recorded at "
                                   f"registration (recorded {recorded[name][:12]}..., found {found[name][:12]}...)"))
    if problems:
        name, first = problems[0]
        more = f"; {len(problems)} of {len(set(recorded) | set(found))} files differ" if len(problems) > 1 else ""
        raise ContractError(f"{first}{more}. Nothing of the model was loaded: restore the files, or {RETRAIN}",
                            file=f"{location.rstrip('/')}/{name}")


@dataclass
class LoadedModel:
    bundle: ModelBundle
    pyfunc: Any
    uri: str
    version: str  # registry version


def load_model(uri: str) -> LoadedModel:
    """The registered model at `uri` (models:/<name>/<version> or models:/<name>@<alias>), loaded only
    after every file of it is checked against the SHA-256 recorded at registration."""
    name, found = _version_of(uri)
    label = f"model {name} version {found.version}"
    expected, recorded = _record_of(found, label)
    client = MlflowClient()
    location = client.get_model_version_download_uri(name, found.version)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            local = _download(location, Path(tmp))
        except (MlflowException, OSError) as exc:
            raise ContractError(f"cannot download {label}: {str(exc).splitlines()[0]}", file=location) from None
        if record_digest(folder_hashes(local)) != expected:
            _refuse(local, recorded or _recorded_files(found.run_id, expected, Path(tmp) / "record"), label,
                    location)
        environment.warn_mismatches(local, label)  # MLflow's own check costs 1.3-2.8 s a process
        pyfunc = mlflow.pyfunc.load_model(str(local), suppress_warnings=True)
    return LoadedModel(bundle=pyfunc.unwrap_python_model().bundle, pyfunc=pyfunc, uri=uri, version=str(found.version))


def _version_of(uri: str) -> tuple[str, ModelVersion]:
    """(name, registered version) that `uri` names; a URI that names none is a ContractError."""
    name, alias, number = "", "", ""
    if uri.startswith("models:/"):
        name, _, alias = uri[len("models:/"):].rstrip("/").partition("@")
        if not alias:
            name, _, number = name.rpartition("/")
    if not name or not (alias or number.isdigit()):
        raise ContractError(f"cannot load model '{uri}': not a registered version; pass models:/<name>/<version> or "
                            "models:/<name>@<alias> (only a registered version carries the SHA-256 record of its "
                            "files)", file="--model")
    client = MlflowClient()
    try:
        found = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, number)
    except MlflowException as exc:
        message = str(exc).splitlines()[0]
        hint = ("Train one first (churn train), pass --model, or point at the store that holds it "
                "(MLFLOW_TRACKING_URI or registry.tracking_uri)" if _absent(exc)
                else "the registry did not answer; check MLFLOW_TRACKING_URI and the server (churn doctor)")
        raise ContractError(f"cannot load model '{uri}' in store {mlflow.get_registry_uri()}: {message}. {hint}",
                            file="--model") from None
    return name, found


def _refuse(local: Path, recorded: dict[str, str] | None, label: str, location: str) -> None:
    """The ContractError for a model folder whose files are not the ones registered: naming the files
    when a trusted record of them is at hand, else saying the digest differs."""
    if recorded is not None:
        check_folder(local, recorded, label, location)
    raise ContractError(f"the files of {label} do not match the SHA-256 digest recorded at registration (tag "
                        f"'{RECORD_TAG}'), and the run's record of them ({RECORD_FILE}) is missing or was changed "
                        f"too. Nothing of the model was loaded: restore the files, or {RETRAIN}", file=location)


def _record_of(found: ModelVersion, label: str) -> tuple[str, dict[str, str] | None]:
    """(digest, record) a registered version pins: its tag holds the digest (or, registered before
    digests, the whole record as JSON); a version without either (registered by other means) is refused."""
    text = (found.tags or {}).get(RECORD_TAG) or ""
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return text, None
    try:
        record = json.loads(text) if text else None
    except json.JSONDecodeError:
        record = None
    if not _is_record(record):
        raise ContractError(f"{label} has no SHA-256 record of its files (tag '{RECORD_TAG}'): it was registered "
                            f"before files were checked, or by other means, and is not loaded; {RETRAIN}",
                            file="--model")
    return record_digest(record), record


def _is_record(record: Any) -> bool:
    return isinstance(record, dict) and bool(record) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in record.items())


def _recorded_files(run_id: str | None, expected: str, into: Path) -> dict[str, str] | None:
    """The run's record of files when its digest is the version's (then it says which files differ);
    None when it is missing or was changed too (then only the digest can speak)."""
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=RECORD_FILE, dst_path=str(into))
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (MlflowException, OSError, ValueError, TypeError):
        return None
    return record if _is_record(record) and record_digest(record) == expected else None


def champion(model_name: str, alias: str) -> tuple[str, dict[str, str]] | None:
    """(version, tags) of the model holding `alias`, or None when there is none yet."""
    client = MlflowClient()
    try:
        found = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if _absent(exc):
            return None
        raise  # a registry that does not answer is not one without a champion
    return str(found.version), dict(found.tags)


def _absent(exc: MlflowException) -> bool:
    return exc.error_code in ABSENT


def tag_version(model_name: str, version: str, tags: dict[str, Any]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, str(value))


def set_alias(model_name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(model_name, alias, version)


def move_aliases(model_name: str, version: str, promote: bool, champion_alias: str, challenger_alias: str,
                 previous: str | None) -> None:
    """`version` takes the champion alias (and the champion it replaces, `previous`, the challenger
    alias) or, not promoted, the challenger alias: the two aliases always name the two latest
    contenders, never the same version."""
    client = MlflowClient()
    if not promote:
        client.set_registered_model_alias(model_name, challenger_alias, version)
        return
    client.set_registered_model_alias(model_name, champion_alias, version)
    if previous and previous != str(version):
        client.set_registered_model_alias(model_name, challenger_alias, previous)
    else:
        try:
            held = client.get_model_version_by_alias(model_name, challenger_alias)
        except MlflowException as exc:
            if _absent(exc):
                return
            raise
        if str(held.version) == str(version):  # the challenger became champion: it is no longer both
            client.delete_registered_model_alias(model_name, challenger_alias)


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
    except MlflowException as exc:
        if _absent(exc):
            return False
        raise
    return True
