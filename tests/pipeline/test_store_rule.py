"""One rule for the MLflow store, the same from any working directory: MLFLOW_TRACKING_URI, else
registry.tracking_uri in the config, else $XDG_DATA_HOME/churn-pipeline/mlflow.db (~/.local/share
when unset); a model that is not found is reported with the store searched."""

from __future__ import annotations

from pipeline.tracking.store import resolve_store


def test_the_environment_wins_then_the_config_then_the_users_data_folder():
    env = {"HOME": "/home/ana", "XDG_DATA_HOME": "/data/ana"}
    assert resolve_store({**env, "MLFLOW_TRACKING_URI": "http://mlflow:5000"}, "sqlite:////x.db").uri == \
        "http://mlflow:5000"
    configured = resolve_store(env, "postgresql://db/mlflow")
    assert configured.uri == "postgresql://db/mlflow" and "registry.tracking_uri" in configured.source
    assert resolve_store(env, None).uri == "sqlite:////data/ana/churn-pipeline/mlflow.db"
    # XDG_DATA_HOME unset, empty or relative: ~/.local/share, as the XDG specification says
    for xdg in ({}, {"XDG_DATA_HOME": ""}, {"XDG_DATA_HOME": "relative/data"}):
        assert resolve_store({"HOME": "/home/ana", **xdg}, None).uri == \
            "sqlite:////home/ana/.local/share/churn-pipeline/mlflow.db"


def test_the_default_store_is_the_same_from_any_folder_and_a_missing_model_names_it(tmp_path, churn_here):
    data_home = tmp_path / "xdg"
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(data_home)}
    churn_here(["generate", "--out", str(tmp_path / "data"), "--clients", "30"], tmp_path, env)
    store = data_home / "churn-pipeline" / "mlflow.db"
    for folder in (tmp_path / "a", tmp_path / "b"):
        folder.mkdir()
        done = churn_here(["score", "--data", str(tmp_path / "data"), "--out", str(folder / "out")], folder, env,
                          expect=2)
        # the store searched is named, the one under XDG_DATA_HOME whatever the folder, and not created
        assert done.stderr.startswith(f"error: {store}: no MLflow store at {store}"), done.stderr
        assert not store.exists() and not (folder / "mlflow.db").exists()
    configured = tmp_path / "team.yaml"
    configured.write_text(f"registry:\n  tracking_uri: sqlite:///{tmp_path / 'team.db'}\n", encoding="utf-8")
    done = churn_here(["promote", "1", "--config", str(configured)], tmp_path, env, expect=2)
    assert f"no MLflow store at {tmp_path / 'team.db'}" in done.stderr, done.stderr
    # a store that exists but lacks the model: the "not found" names the store too
    churn_here(["train", "--data", str(tmp_path / "data"), "--config", str(configured)], tmp_path, env)
    done = churn_here(["score", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "o"), "--model",
                       "models:/other@champion", "--config", str(configured)], tmp_path, env, expect=2)
    assert f"in store sqlite:///{tmp_path / 'team.db'}" in done.stderr, done.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_is_down_stops_every_command_in_seconds_naming_it(tmp_path, churn_here):
    """Without the check MLflow retries for about four minutes (4 min 10 s measured for `churn score`) and
    ends in a long HTTP error; with it: exit 2 after registry.connect_timeout_s (about 12 s at the default
    10), one line naming the server, no credentials shown."""
    url = f"http://ana:secret@127.0.0.1:{_free_port()}/mlflow"  # nothing listens there
    settings = tmp_path / "soon.yaml"
    settings.write_text("registry:\n  connect_timeout_s: 1\n", encoding="utf-8")
    env = {"HOME": str(tmp_path), "MLFLOW_TRACKING_URI": url}
    for command in (["score", "--data", str(tmp_path)], ["train", "--data", str(tmp_path)],
                    ["promote", "1"], ["doctor", "--data", str(tmp_path)]):
        done = churn_here([*command, "--config", str(settings), "--out", str(tmp_path / "out")]
                          if command[0] != "promote" else [*command, "--config", str(settings)], tmp_path, env,
                          expect=2)
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"error: http://127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}: cannot reach the "
                               "MLflow tracking server (Connection refused) for 1 s"), (command, last)
        assert "secret" not in done.stderr and "Traceback" not in done.stderr


def test_a_server_that_listens_is_let_through_and_other_stores_are_left_to_mlflow():
    import socket

    from pipeline.tracking.store import check_reachable

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"http://127.0.0.1:{server.getsockname()[1]}", 1.0)  # no error
    for uri in ("sqlite:////nowhere/mlflow.db", "postgresql://db/mlflow", "file:///nowhere/mlruns"):
        check_reachable(uri, 0.01)  # not a server: nothing is tried
