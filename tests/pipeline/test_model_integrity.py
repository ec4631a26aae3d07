"""Model artifacts are data, and every file of a registered model is checked before it is loaded.

The spec, info and calibrator round-trip exactly through JSON (no pickle anywhere in the saved
model); the SHA-256 of every file is recorded on the registered version, and a replaced, truncated,
edited or added file stops `churn score` with exit 2 naming the file, before MLflow parses a file or
imports the stored code. Two first `churn train`s on a new store both succeed.

The tampered models are registered in a store of this module's own (the shared model's bundle,
logged again), so the session's shared store is only read.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.spec import FeaturesConfig, FeatureSpec, SlaHours
from models.bundle import ModelBundle
from models.calibration import Calibrator

# ------------------------------------------------------------------------------------ round trips


def _hand_spec() -> FeatureSpec:
    config = FeaturesConfig(windows_days=(3, 14), max_event_types=5, identifier_unique_share=0.25,
                            high_priorities=("p1",), first_response_sla_hours=SlaHours(urgent=0.5, default=12.25),
                            trouble_event_words=("boom",))
    return FeatureSpec(config=config, sources=("events", "tickets"),
                       optional_columns={"events": ("channel", "value"), "tickets": ()},
                       event_types=("Log in", "error"), event_type_names=("log_in", "error"),
                       valued_event_types=("error",), channels=("web",), channel_names=("web",),
                       numeric_attributes={"seats": "client_seats"}, categorical_attributes={"plan": "client_plan"},
                       category_levels={"client_plan": ("gold", "basic")}, ignored_columns={"ref": "an identifier"},
                       feature_names=("tenure_days", "log_in_count_3d", "client_plan"))


def test_a_feature_spec_round_trips_exactly_through_json():
    spec = _hand_spec()
    data = json.loads(json.dumps(spec.to_dict()))
    assert data["config"]["windows_days"] == [3, 14] and data["config"]["first_response_sla_hours"] == {
        "urgent": 0.5, "high": 4.0, "medium": 8.0, "low": 24.0, "default": 12.25}
    assert data["category_levels"] == {"client_plan": ["gold", "basic"]} and data["sources"] == ["events", "tickets"]
    back = FeatureSpec.from_dict(data)
    assert back == spec
    assert isinstance(back.config, FeaturesConfig) and back.config.windows_days == (3, 14)
    assert back.optional_columns["events"] == ("channel", "value") and back.feature_names[-1] == "client_plan"
    with pytest.raises(ValueError, match="unknown fields \\['extra'\\]"):
        FeatureSpec.from_dict({**data, "extra": 1})


def _round_trip(calibrator: Calibrator) -> Calibrator:
    return Calibrator.from_dict(json.loads(json.dumps(calibrator.to_dict())))


def test_an_isotonic_calibrator_round_trips_with_exactly_the_same_predictions():
    fitted = Calibrator("isotonic").fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1]))
    stored = fitted.to_dict()
    # pool-adjacent-violators by hand: 1 then 0 pool to 0.5 each
    assert stored == {"method": "isotonic", "x": [0.1, 0.2, 0.3, 0.4], "y": [0.0, 0.5, 0.5, 1.0],
                      "x_min": 0.1, "x_max": 0.4}
    back = _round_trip(fitted)
    grid = np.array([0.0, 0.05, 0.1, 0.15, 0.25, 0.35, 0.4, 0.9])
    np.testing.assert_allclose(back.transform(grid), [0, 0, 0, 0.25, 0.5, 0.75, 1, 1], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(back.transform(grid), fitted.transform(grid))


def test_a_sigmoid_calibrator_round_trips_with_exactly_the_same_predictions():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, 200)
    fitted = Calibrator("sigmoid").fit(p, (rng.uniform(size=200) < p ** 2).astype(int))
    stored = fitted.to_dict()
    back = _round_trip(fitted)
    grid = np.linspace(0.001, 0.999, 57)
    np.testing.assert_array_equal(back.transform(grid), fitted.transform(grid))
    logit = np.log(grid / (1 - grid))  # by hand: the logistic of slope x logit + intercept
    by_hand = 1 / (1 + np.exp(-(stored["coefficient"] * logit + stored["intercept"])))
    np.testing.assert_allclose(back.transform(grid), by_hand, rtol=0, atol=1e-12)
    assert stored["classes"] == [0, 1] and stored["coefficient"] > 0


def _tiny_booster() -> lgb.Booster:
    x = np.arange(40, dtype=float).reshape(-1, 1)
    return lgb.train({"objective": "binary", "verbose": -1, "min_data_in_leaf": 2, "num_threads": 1},
                     lgb.Dataset(x, (x[:, 0] > 20).astype(int)), num_boost_round=2)


def test_the_bundle_parts_round_trip_and_info_is_never_silently_stringified():
    info = {"horizon_days": 30, "cutoffs": ["2025-11-30"], "typical": {"a": 1.5, "b": None},
            "drift_reference": {"edges": [-math.inf, 0.1, math.inf], "nan": math.nan}}
    calibrator = Calibrator("isotonic").fit(np.array([0.1, 0.2, 0.3, 0.4]), np.array([0, 1, 0, 1]))
    bundle = ModelBundle(booster=_tiny_booster(), spec=_hand_spec(), info=info, calibrator=calibrator)
    back = ModelBundle.from_parts_json(bundle.booster, bundle.parts_json())
    assert back.spec == bundle.spec and back.calibrator.to_dict() == calibrator.to_dict()
    assert back.info["drift_reference"]["edges"] == [-math.inf, 0.1, math.inf]
    assert math.isnan(back.info["drift_reference"]["nan"]) and back.info["typical"] == {"a": 1.5, "b": None}
    for bad, where in (({"window": ("a", "b")}, "info.window"), ({"x": np.float32(1)}, "info.x"),
                       ({"x": [pd.Timestamp("2025-01-01")]}, "info.x[0]"), ({1: "a"}, "key 1")):
        with pytest.raises(TypeError, match=where.replace("[", "\\[")):
            ModelBundle(booster=bundle.booster, spec=bundle.spec, info=bad).parts_json()


# -------------------------------------------------------------------------- registered model files


@dataclass(frozen=True)
class OwnStore:
    root: Path
    uri: str
    register: Callable[[], tuple[str, Path]]  # a new version of the shared model: (version, its stored folder)


@pytest.fixture(scope="module")
def own_store(trained_store, new_store, tmp_path_factory) -> OwnStore:
    import mlflow
    from mlflow import MlflowClient

    from pipeline.tracking.registry import configure, ensure_experiment, load_model, log_bundle

    configure(trained_store.tracking_uri)
    bundle = load_model(trained_store.model_uri).bundle
    root = tmp_path_factory.mktemp("integrity")
    uri = new_store(root / "mlflow.db")
    example = pd.DataFrame(0.0, index=range(3), columns=list(bundle.spec.feature_names))

    def register() -> tuple[str, Path]:
        configure(uri)
        with mlflow.start_run(experiment_id=ensure_experiment("churn", uri)):
            version, _ = log_bundle(bundle, example, "churn")
        return version, Path(urlparse(MlflowClient().get_model_version_download_uri("churn", version)).path)

    return OwnStore(root, uri, register)


def _score_fails(churn_here, trained_store, own_store: OwnStore, version: str, out: Path) -> str:
    """`churn score` with version `version`: exit 2, one line, no traceback, a manifest that says it failed."""
    done = churn_here(["score", "--data", trained_store.data, "--out", out, "--model", f"models:/churn/{version}"],
                      own_store.root, {**os.environ, "MLFLOW_TRACKING_URI": own_store.uri}, expect=2)
    lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["status"], manifest["exit_code"]) == ("failed", 2)
    assert not (out / "current").exists()
    return lines[0]


def test_an_untouched_registered_model_loads_and_carries_the_record_of_every_file(own_store, tmp_path):
    import hashlib

    from mlflow import MlflowClient

    from pipeline.tracking.registry import RECORD_FILE, RECORD_TAG, folder_hashes, load_model

    version, folder = own_store.register()
    found = MlflowClient().get_model_version("churn", version)
    # the run holds the record of every file; the version's tag pins it with one readable digest
    text = Path(MlflowClient().download_artifacts(found.run_id, RECORD_FILE, str(tmp_path))).read_text()
    record = json.loads(text)
    assert {"MLmodel", "pyfunc_model.py", "artifacts/booster.txt", "artifacts/spec.json",
            "artifacts/linear.json", "requirements.txt", "input_example.json"} <= set(record)
    assert record == folder_hashes(folder)  # every file, as stored
    assert found.tags[RECORD_TAG] == hashlib.sha256(text.encode()).hexdigest()
    assert text == json.dumps(record, sort_keys=True, separators=(",", ":"))
    loaded = load_model(f"models:/churn/{version}")
    assert loaded.version == version and loaded.bundle.calibrator is not None


def test_a_model_file_and_the_runs_record_changed_together_are_still_refused(own_store, trained_store, churn_here,
                                                                             tmp_path):
    """The run's record is an artifact like the model's files: rewritten to match a changed booster, it no
    longer matches the digest in the registry, so scoring stops all the same, without naming a file."""
    from mlflow import MlflowClient

    from pipeline.tracking.registry import RECORD_FILE, folder_hashes

    version, folder = own_store.register()
    booster = folder / "artifacts" / "booster.txt"
    booster.write_bytes(booster.read_bytes()[:3000])
    run_folder = Path(urlparse(MlflowClient(tracking_uri=own_store.uri).get_run(
        MlflowClient(tracking_uri=own_store.uri).get_model_version("churn", version).run_id).info.artifact_uri).path)
    (run_folder / RECORD_FILE).write_text(json.dumps(folder_hashes(folder), sort_keys=True, separators=(",", ":")))
    line = _score_fails(churn_here, trained_store, own_store, version, tmp_path / "risk")
    assert f"the files of model churn version {version} do not match the SHA-256 digest recorded at " \
           f"registration (tag 'artifact_sha256'), and the run's record of them ({RECORD_FILE}) is missing or was " \
           "changed too" in line, line


def test_a_version_pinned_by_the_whole_record_still_loads(own_store):
    """Versions registered before the digest carry the whole record as the tag's JSON: still checked, still
    loaded."""
    from mlflow import MlflowClient

    from features.errors import ContractError
    from pipeline.tracking.registry import RECORD_TAG, folder_hashes, load_model

    version, folder = own_store.register()
    client = MlflowClient(tracking_uri=own_store.uri, registry_uri=own_store.uri)
    client.set_model_version_tag("churn", version, RECORD_TAG, json.dumps(folder_hashes(folder)))
    assert load_model(f"models:/churn/{version}").version == version
    (folder / "artifacts" / "notes.py").write_text("print('hello')\n")
    with pytest.raises(ContractError, match=r"artifact artifacts/notes.py of model churn version \d+ was not there"):
        load_model(f"models:/churn/{version}")


@pytest.mark.parametrize("spoil, file", [
    (lambda folder: (folder / "artifacts" / "spec.json").write_text(
        (folder / "artifacts" / "spec.json").read_text().replace('"horizon_days": 30', '"horizon_days": 31')),
     "artifacts/spec.json"),
    (lambda folder: (folder / "artifacts" / "booster.txt").write_bytes(
        (folder / "artifacts" / "booster.txt").read_bytes()[:2000]), "artifacts/booster.txt"),
    (lambda folder: (folder / "artifacts" / "notes.py").write_text("print('hello')\n"), "artifacts/notes.py"),
    (lambda folder: (folder / "artifacts" / "linear.json").unlink(), "artifacts/linear.json"),
], ids=["replaced spec.json", "truncated booster.txt", "added file", "removed linear.json"])
def test_a_changed_model_file_stops_scoring_with_exit_2_naming_it(own_store, trained_store, churn_here, tmp_path,
                                                                   spoil, file):
    version, folder = own_store.register()
    spoil(folder)
    line = _score_fails(churn_here, trained_store, own_store, version, tmp_path / "risk")
    assert f"artifact {file} of model churn version {version}" in line and f"{folder}/{file}" in line, line


def test_edited_model_code_is_never_imported(own_store, trained_store, churn_here, tmp_path):
    import mlflow

    version, folder = own_store.register()
    marker = tmp_path / "imported.txt"
    code = folder / "pyfunc_model.py"
    code.write_text(f"open({str(marker)!r}, 'w').write('ran')\n" + code.read_text())
    line = _score_fails(churn_here, trained_store, own_store, version, tmp_path / "risk")
    assert f"artifact pyfunc_model.py of model churn version {version} does not match its SHA-256" in line
    assert not marker.exists()
    mlflow.pyfunc.load_model(str(folder))  # what loading without the check would have done
    assert marker.read_text() == "ran"


def test_a_version_registered_without_the_record_is_refused(own_store):
    from mlflow import MlflowClient

    from features.errors import ContractError
    from pipeline.tracking.registry import RECORD_TAG, load_model

    version, _ = own_store.register()
    MlflowClient().delete_model_version_tag("churn", version, RECORD_TAG)
    with pytest.raises(ContractError, match=f"model churn version {version} has no SHA-256 record.*re-register"):
        load_model(f"models:/churn/{version}")


@pytest.mark.parametrize("uri", ["models:/m-0123abcd", "runs:/abc/model", "/tmp/some/model", "models:/churn"])
def test_only_a_registered_version_is_loaded(uri):
    from features.errors import ContractError
    from pipeline.tracking.registry import load_model

    with pytest.raises(ContractError, match="not a registered version; pass models:/<name>/<version>"):
        load_model(uri)


PICKLE_HEADERS = [bytes([0x80, protocol]) for protocol in range(2, 6)]


def test_the_saved_model_holds_no_pickle(trained_store):
    from mlflow import MlflowClient

    from pipeline.tracking.registry import configure

    configure(trained_store.tracking_uri)
    version = trained_store.result["model_version"]
    folder = Path(urlparse(MlflowClient().get_model_version_download_uri("churn", version)).path)
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert {"booster.txt", "spec.json", "MLmodel", "pyfunc_model.py"} <= {path.name for path in files}
    assert not [path for path in files if path.suffix in {".joblib", ".pkl", ".pickle"}]
    # protocol 2 and 3 start with 0x80 <protocol>; 4 and 5 add a frame opcode (0x95) after it
    spoilt = [path.name for path in files
              if any(path.read_bytes().startswith(header) for header in PICKLE_HEADERS)
              or b"\x80\x04\x95" in path.read_bytes() or b"\x80\x05\x95" in path.read_bytes()]
    assert spoilt == []
    assert json.loads((folder / "artifacts" / "spec.json").read_text())["spec"]["feature_names"]


# ------------------------------------------------------------------------------- the store's migration

FAST_TRAINING = {"training": {"n_cutoffs": 4, "max_boost_rounds": 40, "early_stopping_rounds": 10,
                              "linear_blend": False}}


# `churn <args>`, as `forks` runs it (tests/conftest.py): a process of its own, forked, not a new interpreter
CHURN = "import sys\nfrom pipeline.cli import main\nsys.argv = ['churn', *sys.argv[1:]]\nmain()\n"


def _together(forks, runs: list[tuple[str, list]], cwd: Path, env: dict[str, str]) -> list[tuple[str, str, int]]:
    """`python -c code args...` for each (code, args), started at once, each as its own process (`forks`):
    (stdout, stderr, exit code) of each."""
    started = forks.together([(code, [str(arg) for arg in args], cwd, env) for code, args in runs])
    codes = [process.wait(600) for process in started]
    return [(process.stdout, process.stderr, code) for process, code in zip(started, codes)]


def test_two_first_processes_on_a_new_store_do_not_race_its_creation(tmp_path, forks):
    """Two real processes creating a store that does not exist yet (`registry.configure`, what `churn
    train` calls first; the read-only commands never create one): MLflow's migration runs once, under
    the lock beside the database, so both find the same empty registry, neither a migration error."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    code = ("import sys; from mlflow import MlflowClient; from pipeline.tracking.registry import configure; "
            "configure(sys.argv[1]); print(len(MlflowClient().search_registered_models()))")
    done = _together(forks, [(code, [uri])] * 2, tmp_path, dict(os.environ))
    assert [(out, code) for out, _, code in done] == [("0\n", 0)] * 2, done
    assert (tmp_path / "mlflow.db").exists() and (tmp_path / "mlflow.db.lock").exists()


@pytest.mark.slow
def test_two_first_trainings_on_a_new_store_both_succeed(tmp_path, forks):
    """Two real `churn train` processes on a store that does not exist yet (about a minute of CPU):
    the first to open it creates it under the lock beside the database, the other waits and finds it
    made; both register a version."""
    import yaml

    from pipeline.synth.generator import generate

    generate(tmp_path / "data", n_clients=300, seed=3)
    (tmp_path / "fast.yaml").write_text(yaml.safe_dump(FAST_TRAINING))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    done = _together(forks, [(CHURN, ["train", "--data", tmp_path / "data", "--config", tmp_path / "fast.yaml",
                                      "--out", tmp_path / f"train{k}", "--json"]) for k in range(2)], tmp_path, env)
    assert [code for _, _, code in done] == [0, 0], [err for _, err, _ in done]
    versions = sorted(json.loads(out.strip().splitlines()[-1])["model_version"] for out, _, _ in done)
    assert versions == ["1", "2"]
    assert (tmp_path / "mlflow.db.lock").exists()
