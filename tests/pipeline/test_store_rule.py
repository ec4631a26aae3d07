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
