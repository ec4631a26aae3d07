"""A shared MLflow tracking server (issue 17): train, promote and score against `mlflow server` on the
loopback address, the artifacts going through the server, and the MLflow UI's experiment page in a
headless browser.

The server runs as a team runs one (README, "A shared MLflow tracking server"): a backend store of its
own (sqlite here, PostgreSQL in production) and an artifact folder of its own with --serve-artifacts,
so clients log and download artifacts through the server (mlflow-artifacts: URIs) and never write the
folder. The first training and the score run as the real `churn` command in processes of their own
(forked from a process that has imported it, `forks` in tests/conftest.py, rather than new interpreters)
with MLFLOW_TRACKING_URI=http://127.0.0.1:PORT, as a data scientist or the nightly job would; the second
training (one boosting round: a second version is what is needed, not a second good model), the
promotion and the score of a tampered model are the same commands run in this process (`churn_here`),
against the same server. The server's backend store is an empty store already made (`new_store`), as a
team's database would be: the server does not spend its start on MLflow's migrations.

`mlflow server` starts processes of its own (uvicorn; by default also MLflow's job runner and seven
huey consumers) that outlive a plain kill of the parent: it runs in a process group of its own, ended as
a whole (SIGTERM, then SIGKILL after a grace period), and the module fails if any process of that group
is left. The job runner serves GenAI features this project does not use; its idle consumers poll without
end (0.8 of a core here), make the start slower and outlast SIGTERM: the server here runs without it
(MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false); tracking, the registry and the artifact proxy are the same.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline.tracking import registry
from pipeline.tracking.registry import EXPERIMENT_KIND, RECORD_FILE, RECORD_TAG, folder_hashes, record_digest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
# seen here: 26 s from start to a /health answer on 2 busy cores (39 s with the job runner; 21 s on a
# store already made)
HEALTH_TIMEOUT_S = 90
JOBS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # see the module's docstring
GRACE_S = 10
N_CLIENTS = 400
QUICK = "training:\n  max_boost_rounds: 50\n  linear_blend: false\n"
ONE_ROUND = "training:\n  max_boost_rounds: 1\n  linear_blend: false\n"  # v2: a second version, worse than v1
CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome")
                 if (path := shutil.which(name))), None)


@dataclass(frozen=True)
class Server:
    url: str
    artifacts: Path  # --artifacts-destination
    log: Path

    def client(self) -> MlflowClient:
        # the registry named too: MLflow's default one is whatever this process last set (other tests)
        return MlflowClient(tracking_uri=self.url, registry_uri=self.url)


@dataclass(frozen=True)
class Flow:
    folder: Path  # where the commands ran: data, outputs, nothing of MLflow's
    env: dict[str, str]
    trained: tuple[dict, dict]
    promoted: dict
    scored: dict


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _wait_until_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow server exited ({process.returncode}) before answering; its log:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server did not answer GET {url}/health within {HEALTH_TIMEOUT_S} s; its log:\n{_tail(log)}")


def _alive_in_group(pgid: int) -> list[int]:
    """The processes of group `pgid` still running (zombies left for init to reap do not count)."""
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [pgid]
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, group = stat.read_text().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue  # ended while we looked
        if int(group) == pgid and state != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _end_group(process: subprocess.Popen) -> list[int]:
    """SIGTERM to the server's whole group, SIGKILL to what is left after GRACE_S; the pids still alive."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline:
            process.poll()  # reaps the leader once it exits
            if not _alive_in_group(process.pid):
                return []
            time.sleep(0.2)
    process.poll()
    return _alive_in_group(process.pid)


def _environment(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, **extra}


@pytest.fixture(scope="module")
def server(tmp_path_factory, new_store) -> Server:
    root = tmp_path_factory.mktemp("mlflow_server")
    port, log = _free_port(), root / "server.log"
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", new_store(root / "server.db"),
               "--artifacts-destination", str(root / "artifacts"), "--serve-artifacts", "--workers", "1"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=_environment(**JOBS), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own process group, ended as a whole
    try:
        _wait_until_healthy(url, process, log)
        yield Server(url, root / "artifacts", log)
    finally:
        left = _end_group(process)
    assert not left, f"processes of mlflow server still running after SIGKILL: {left}"


# `churn <args>`, as `forks` runs it (tests/conftest.py)
CHURN = "import sys\nfrom pipeline.cli import main\nsys.argv = ['churn', *sys.argv[1:]]\nmain()\n"


def churn(forks, args: list[str], cwd: Path, env: dict[str, str], expect: int = 0):
    """`churn <args>` in a process of its own, forked (`forks`): exit code, stdout and stderr as a subprocess's."""
    done = forks.run(CHURN, args, cwd, env, timeout=600)
    assert done.returncode == expect, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def last_json(done) -> dict:
    """The JSON object on the last line of a command's stdout (a forked run's or `churn_here`'s)."""
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def flow(server, tmp_path_factory, churn_here, forks) -> Flow:
    """Generate, train twice (v1 champion; v2, one boosting round on the same data: challenger), promote v2
    by hand, score. v1's training and the score run in processes of their own (`forks`); v2's and the
    promotion run here."""
    from pipeline.synth.generator import generate

    here = tmp_path_factory.mktemp("client")
    env = _environment(MLFLOW_TRACKING_URI=server.url)
    (here / "quick.yaml").write_text(QUICK, encoding="utf-8")
    (here / "one_round.yaml").write_text(ONE_ROUND, encoding="utf-8")
    generate(here / "data", n_clients=N_CLIENTS, seed=3)  # what `churn generate --clients 400 --seed 3` writes
    train = ["train", "--data", "data", "--out", "train", "--json", "--config"]
    first = last_json(churn(forks, [*train, "quick.yaml"], here, env))
    second = last_json(churn_here([*train, "one_round.yaml"], here, env))
    promoted = last_json(churn_here(["promote", second["model_version"], "--json"], here, env))
    scored = last_json(churn(forks, ["score", "--data", "data", "--out", "risk", "--json"], here, env))
    return Flow(here, env, (first, second), promoted, scored)


def test_train_promote_and_score_against_the_server(server, flow, active_at):
    first, second = flow.trained
    assert (first["model_version"], first["champion"]) == ("1", True)
    assert (second["model_version"], second["champion"]) == ("2", False)  # worse than v1: challenger
    assert first["tracking_uri"] == second["tracking_uri"] == server.url
    assert flow.promoted == {**flow.promoted, "version": "2", "alias": "champion", "previous_champion": "1"}
    client = server.client()
    assert sorted(v.version for v in client.search_model_versions("name='churn'")) == ["1", "2"]
    champion = client.get_model_version_by_alias("churn", "champion")
    assert champion.version == "2" and champion.tags["champion_decision"] == "promoted by hand over v1"
    # the score loaded the champion from the server, its files checked against the recorded SHA-256
    scored = flow.scored
    manifest = json.loads((flow.folder / "risk" / "manifest.json").read_text(encoding="utf-8"))
    assert scored["model_version"] == manifest["model_version"] == "2"
    assert scored["model_uri"] == manifest["model_uri"] == "models:/churn@champion"
    active = active_at(flow.folder / "data", scored["as_of"])
    assert scored["clients_scored"] == len(active) > 0
    listed = pd.read_parquet(flow.folder / "risk" / "risk_list.parquet")
    assert len(listed) == scored["clients_listed"] == manifest["clients_listed"] > 0
    assert set(listed["client_id"].astype(str)) <= active
    runs = client.search_runs([client.get_experiment_by_name("churn-scoring").experiment_id])
    assert [(r.data.tags["model_version"], r.data.tags["status"]) for r in runs] == [("2", "published")]


def test_artifacts_go_through_the_server_into_its_folder(server, flow):
    client = server.client()
    experiment = client.get_experiment_by_name("churn")
    assert experiment.artifact_location.startswith("mlflow-artifacts:")
    for version in ("1", "2"):
        uri = client.get_model_version_download_uri("churn", version)
        assert uri.startswith("mlflow-artifacts:/"), uri
        stored = server.artifacts / uri.removeprefix("mlflow-artifacts:/")
        # the files on the server are the ones hashed at registration (downloaded through the server)
        found = client.get_model_version("churn", version)
        recorded = json.loads((server.artifacts / client.get_run(found.run_id).info.artifact_uri.removeprefix(
            "mlflow-artifacts:/") / RECORD_FILE).read_text(encoding="utf-8"))
        assert folder_hashes(stored) == recorded and found.tags[RECORD_TAG] == record_digest(recorded)
        assert {"MLmodel", "artifacts/booster.txt", "artifacts/spec.json"} <= set(recorded)
    run = client.get_run(flow.trained[0]["run_id"])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    run_folder = server.artifacts / run.info.artifact_uri.removeprefix("mlflow-artifacts:/")
    assert {"features.json", "evaluation.html", "config.json"} <= {p.name for p in run_folder.iterdir()}
    # nothing of MLflow's on the client's side: no local store, no artifact folder
    assert not [p for p in flow.folder.rglob("*") if p.name in ("mlartifacts", "mlruns", "mlflow.db")]


def test_both_experiments_are_tagged_as_model_training(server, flow):
    client = server.client()
    for name in ("churn", "churn-scoring"):
        tags = client.get_experiment_by_name(name).tags
        assert {k: tags.get(k) for k in EXPERIMENT_KIND} == EXPERIMENT_KIND, name



def test_a_server_that_does_not_answer_is_not_an_empty_registry(server, flow, monkeypatch):
    """No answer is not "not there": on a shared server a failed request must not read as "no champion
    yet" (a new version would take the alias) or "no such version"."""
    def at(url: str) -> None:
        monkeypatch.setattr(registry, "MlflowClient", lambda: MlflowClient(tracking_uri=url, registry_uri=url))

    at(server.url)
    assert registry.champion("churn", "champion")[0] == "2"
    assert registry.champion("churn", "nobody") is None and registry.champion("other", "champion") is None
    assert registry.version_exists("churn", "2") and not registry.version_exists("churn", "9")
    at(f"http://127.0.0.1:{_free_port()}")  # nothing listens there
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(MlflowException):
        registry.champion("churn", "champion")
    with pytest.raises(MlflowException):
        registry.version_exists("churn", "2")

def _page_text(dom: str) -> str:
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (chromium, chromium-browser or google-chrome) on PATH: "
                                             "the MLflow UI's experiment page cannot be loaded headless")
def test_the_experiment_page_shows_the_training_runs(server, flow, tmp_path):
    """MLflow 3.17's UI chooses an experiment's pages by its GenAI / Model training switch, not by the
    experiment's tag: `?workflowType=machine_learning` in the link (the README's) sets it, else the choice
    the browser remembers, else GenAI, whose landing page is a traces overview."""
    client = server.client()
    experiment_id = client.get_experiment_by_name("churn").experiment_id
    names = [client.get_run(t["run_id"]).info.run_name for t in flow.trained]
    url = f"{server.url}/#/experiments/{experiment_id}?workflowType=machine_learning"
    browser = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                                f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
                                "--dump-dom", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HOME": str(tmp_path)}, start_new_session=True)
    try:
        dom, errors = browser.communicate(timeout=120)
    finally:
        if browser.poll() is None:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.communicate()
    title = re.search(r"<title>(.*?)</title>", dom, flags=re.S)
    assert title, f"no page from Chromium (exit {browser.returncode}): {errors[-500:]}"
    assert title.group(1).strip() == f"Runs - Experiment {experiment_id} - MLflow"
    text = _page_text(dom)
    assert all(name in text for name in names), (names, text[:2000])
    assert "matching runs" in text
    # not the GenAI landing page: its traces overview (traces, latency, token usage, cost)
    assert not any(word in text for word in ("Token Usage", "Tokens per Trace", "Cost Breakdown")), text[:2000]


def test_a_model_file_changed_on_the_server_stops_scoring(server, flow, churn_here):
    """The SHA-256 check holds through the server: v1's booster changed in the server's folder."""
    uri = server.client().get_model_version_download_uri("churn", "1")
    booster = server.artifacts / uri.removeprefix("mlflow-artifacts:/") / "artifacts" / "booster.txt"
    original = booster.read_bytes()
    booster.write_bytes(original.replace(b"tree", b"tref", 1))
    try:
        done = churn_here(["score", "--data", "data", "--out", "risk_v1", "--model", "models:/churn/1"],
                          flow.folder, flow.env, expect=2)
    finally:
        booster.write_bytes(original)
    assert "artifact artifacts/booster.txt of model churn version 1 does not match its SHA-256" in done.stderr
    assert not (flow.folder / "risk_v1" / "risk_list.parquet").exists()
