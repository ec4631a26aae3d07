"""A nightly scoring run is a good citizen: one run per output folder, and a manifest of every run."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.generate import generate
from pipeline.jobs import exclusive, score, train

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("nightly")
    generate(root / "data", n_clients=1500, seed=4)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = train(root / "data", config=load_config(None), tracking_uri=uri, out=root / "train")
    return root, uri, result["model_uri"]


def test_manifest_of_a_finished_run(trained):
    root, uri, model = trained
    out = root / "ok"
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=40)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["exit_code"] == 0
    assert manifest["model_version"] == model.rsplit("/", 1)[-1]
    for table in manifest["inputs"].values():
        assert table["rows_in"] == table["rows_used"] + table["rows_quarantined"]
    assert manifest["clients_listed"] == 40 and manifest["clients_scored"] > 40
    for name, digest in manifest["outputs"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert {"read", "features", "predict", "list", "write"} <= set(manifest["timings_s"])


def test_manifest_of_a_failed_run_and_the_previous_list_stays(trained):
    root, uri, model = trained
    out = root / "failing"
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=10)
    before = (out / "risk_list.parquet").read_bytes()
    from features.tables import ContractError

    with pytest.raises(ContractError, match="cannot load model"):
        score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri="models:/churn/99")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["exit_code"] == 2
    assert "cannot load model" in manifest["error"]
    assert (out / "risk_list.parquet").read_bytes() == before


def test_a_second_run_on_the_same_folder_fails_at_once(trained):
    root, uri, model = trained
    out = root / "locked"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONPATH": str(ROOT)}
    with exclusive(out):  # a first run is still writing here
        done = subprocess.run([sys.executable, "-m", "pipeline.cli", "score", "--data", str(root / "data"), "--out",
                               str(out), "--model", model], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "another churn run" in done.stderr and str(out) in done.stderr
    assert not (out / "risk_list.parquet").exists()
    # once the first run is done, the folder is free again
    score(root / "data", out=out, config=load_config(None), tracking_uri=uri, model_uri=model, capacity=5)
    assert (out / "risk_list.parquet").exists()
