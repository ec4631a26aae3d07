"""Hostile files and output-folder faults (issue 16): links planted in --out, credentials in a --data
URL, an --out that cannot be written, settings files that are not what they claim. Each is exit 2
with one line naming the path (never a traceback), and nothing is written outside --out."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest

from features.errors import ContractError

SECRETS = ("s3cret", "t0ken")


@pytest.fixture
def env(tmp_path, new_store) -> dict[str, str]:
    """An empty store of the test's own: a score fails at loading the model (exit 2), after the lock,
    the first manifest and the clean-up of leftovers."""
    return {**os.environ, "MLFLOW_TRACKING_URI": new_store(tmp_path / "mlflow.db")}


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "elsewhere" / "victim.txt"
    victim.parent.mkdir(exist_ok=True)
    victim.write_bytes(b"precious bytes\n")
    return victim


def _one_error(done) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    return lines[0]


# ------------------------------------------------------------------------------------- the lock file

def test_a_link_planted_at_the_lock_is_refused_and_its_target_untouched(tmp_path, env, churn_here):
    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".churn.lock").symlink_to(victim)
    done = churn_here(["score", "--data", str(tmp_path / "data"), "--out", str(out)], tmp_path, env, expect=2)
    assert _one_error(done) == (f"error: {out / '.churn.lock'}: is a symbolic link; refusing to open the lock "
                                f"through it (remove the link)")
    assert victim.read_bytes() == b"precious bytes\n"
    assert not (out / "manifest.json").exists()


@pytest.mark.parametrize("planted", ["hard link", "fifo"])
def test_a_hard_link_or_fifo_at_the_lock_is_refused(tmp_path, planted):
    from pipeline.publish.lock import exclusive

    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    if planted == "hard link":
        os.link(victim, out / ".churn.lock")
    else:
        os.mkfifo(out / ".churn.lock")
    with pytest.raises(ContractError, match="refusing to use it as the lock") as caught:
        with exclusive(out):
            pass
    assert str(out / ".churn.lock") in str(caught.value)
    assert victim.read_bytes() == b"precious bytes\n"


def test_the_lock_of_an_earlier_run_is_reused_and_says_who_holds_it(tmp_path):
    from pipeline.publish.lock import exclusive

    out = tmp_path / "out"
    out.mkdir()
    (out / ".churn.lock").write_text("pid 1 and a much longer text from an earlier run")
    with exclusive(out):
        assert (out / ".churn.lock").read_text() == f"pid {os.getpid()}"


# ------------------------------------------------------------------- other files written into --out

def test_links_planted_at_the_manifest_and_its_temporary_name_are_replaced_not_followed(tmp_path, env,
                                                                                       churn_here):
    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").symlink_to(victim)
    # churn_here runs the command in this process: the temporary name it will use is predictable
    (out / f".manifest.json.{os.getpid()}.tmp").symlink_to(victim)
    done = churn_here(["score", "--data", str(tmp_path / "data"), "--out", str(out)], tmp_path, env, expect=2)
    assert "cannot load model" in _one_error(done)
    assert victim.read_bytes() == b"precious bytes\n"
    assert not (out / "manifest.json").is_symlink()
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"
    assert not (out / f".manifest.json.{os.getpid()}.tmp").exists()


@pytest.mark.parametrize("folder", ["history", "runs", "quarantine"])
def test_a_link_planted_for_a_folder_the_run_writes_is_refused(tmp_path, env, churn_here, folder):
    elsewhere = _victim(tmp_path).parent
    out = tmp_path / "out"
    out.mkdir()
    (out / folder).symlink_to(elsewhere, target_is_directory=True)
    done = churn_here(["score", "--data", str(tmp_path / "data"), "--out", str(out)], tmp_path, env, expect=2)
    assert _one_error(done) == (f"error: {out / folder}: is a symbolic link; churn writes only into real folders "
                                f"under --out (remove the link)")
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim.txt"]
    assert json.loads((out / "manifest.json").read_text())["exit_code"] == 2


def test_a_link_planted_as_the_work_folder_is_removed_and_its_target_kept(tmp_path, env, churn_here):
    elsewhere = _victim(tmp_path).parent
    out = tmp_path / "out"
    out.mkdir()
    (out / ".work").symlink_to(elsewhere, target_is_directory=True)
    churn_here(["score", "--data", str(tmp_path / "data"), "--out", str(out)], tmp_path, env, expect=2)
    assert not (out / ".work").exists() and not (out / ".work").is_symlink()
    assert (elsewhere / "victim.txt").read_bytes() == b"precious bytes\n"


def test_the_error_log_replaces_a_planted_link_and_holds_no_credential(tmp_path, monkeypatch):
    import typer

    from pipeline.cli import _run

    victim = _victim(tmp_path)
    (tmp_path / "churn-error.log").symlink_to(victim)
    monkeypatch.chdir(tmp_path)
    url = "s3://AKIA1:s3cret@bucket/extract?X-Amz-Signature=t0ken"

    def job():
        raise OSError(f"cannot list {url}\nsecond line")

    with pytest.raises(typer.Exit) as caught:
        _run(job, False, lambda result: None)
    assert caught.value.exit_code == 1
    log = tmp_path / "churn-error.log"
    assert not log.is_symlink() and victim.read_bytes() == b"precious bytes\n"
    text = log.read_text(encoding="utf-8")
    assert "s3://***@bucket/extract?X-Amz-Signature=***" in text and "Traceback" in text
    assert not any(secret in text for secret in SECRETS)


# --------------------------------------------------------------------------- an --out that cannot be

def _read_only_folder(tmp_path: Path) -> Path:
    """A folder this user cannot create a file in. chmod 0555 stops a user but not root: as root, a
    folder of a kernel file system (/sys) where root creates no file either; else the test is skipped."""
    if os.geteuid() != 0:
        folder = tmp_path / "read_only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for candidate in (Path("/sys/kernel"), Path("/sys")):
        try:
            descriptor, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(descriptor)
        os.unlink(name)
    pytest.skip("running as root with no folder root cannot write to")


def test_an_out_that_is_a_file_under_a_file_or_read_only_exits_2_naming_it(tmp_path, env, churn_here):
    (tmp_path / "taken").write_text("a file\n")
    read_only = _read_only_folder(tmp_path)
    cases = {
        "taken": "is not a folder (a file is in the way); give a folder for --out",
        "taken/out": "cannot be created: a part of the path is a file, not a folder",
        str(read_only): "is not writable (",
        str(read_only / "new"): "cannot be created (",
    }
    for out, message in cases.items():
        for command in (["score", "--data", "data"], ["generate", "--clients", "10"]):
            done = churn_here([*command, "--out", out], tmp_path, env, expect=2)
            assert _one_error(done).startswith(f"error: {out}: {message}"), (command, done.stderr)
    assert (tmp_path / "taken").read_text() == "a file\n"
    assert not (tmp_path / "churn-error.log").exists()


def test_an_out_that_is_the_data_folder_or_a_table_in_it_exits_2(tmp_path, env, churn_here):
    data = tmp_path / "data"
    data.mkdir()
    cases = {str(data): "is the data folder", str(data / "events"): "is where the data folder keeps a table (events)"}
    for out, message in cases.items():
        done = churn_here(["score", "--data", str(data), "--out", out], tmp_path, env, expect=2)
        assert _one_error(done).startswith(f"error: {out}: {message}")
    assert list(data.iterdir()) == []  # nothing written into the data
    # a folder of its own below the data stays allowed (the reader never takes it for a table)
    done = churn_here(["score", "--data", str(data), "--out", str(data / "out")], tmp_path, env, expect=2)
    assert "cannot load model" in _one_error(done)


def test_a_data_folder_that_is_a_link_loop_exits_2(tmp_path, env, churn_here):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    done = churn_here(["features", "--data", str(tmp_path / "a")], tmp_path, env, expect=2)
    assert _one_error(done) == f"error: {tmp_path / 'a'}: data folder not found"


# ------------------------------------------------------------------------- config and playbook files

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


def test_config_files_that_are_not_settings_exit_2_naming_the_file(tmp_path, env, churn_here):
    (tmp_path / "folder.yaml").mkdir()
    os.mkfifo(tmp_path / "fifo.yaml")  # opening it would wait for a writer forever
    (tmp_path / "huge.yaml").write_text("# " + "x" * (1 << 20) + "\n")
    (tmp_path / "laughs.yaml").write_text(BILLION_LAUGHS)
    (tmp_path / "itself.yaml").write_text("scoring: &s {nested: *s}\n")
    (tmp_path / "latin1.yaml").write_bytes("scoring: {lang: 'español'}\n".encode("latin-1"))
    cases = {"folder.yaml": "is a folder, not a config file",
             "fifo.yaml": "is a FIFO, not a config file",
             "huge.yaml": "is over 1,048,576 bytes, too large for a config file",
             "laughs.yaml": "expands to over 100,000 values through its aliases",
             "itself.yaml": "expands to over 100,000 values through its aliases",
             "latin1.yaml": "is not UTF-8 text (byte 21)",
             "missing.yaml": "config file not found"}
    for name, message in cases.items():
        done = churn_here(["features", "--data", "data", "--config", name], tmp_path, env, expect=2)
        assert _one_error(done).startswith(f"error: {name}: {message}"), done.stderr


def test_a_few_aliases_still_load(tmp_path):
    from pipeline.config import load_config

    (tmp_path / "ok.yaml").write_text("scoring: &s {lang: es}\nmonitoring: {}\n")
    assert load_config(tmp_path / "ok.yaml").scoring.lang == "es"


@pytest.mark.parametrize("playbook", ["/dev/zero", "laughs"])
def test_a_playbook_at_dev_zero_or_with_nested_anchors_exits_2(tmp_path, env, churn_here, playbook):
    if playbook == "laughs":
        playbook = str(tmp_path / "laughs.yaml")
        Path(playbook).write_text(BILLION_LAUGHS)
    (tmp_path / "settings.yaml").write_text(f"scoring:\n  playbook: {playbook}\n")
    (tmp_path / "data").mkdir()
    done = churn_here(["score", "--data", "data", "--out", "out", "--config", "settings.yaml"], tmp_path, env,
                      expect=2)
    message = "is a device or socket, not a playbook file" if playbook == "/dev/zero" else "expands to over"
    assert _one_error(done).startswith(f"error: {playbook}: {message}")


# ---------------------------------------------------------------------------- credentials in --data

@pytest.mark.parametrize(("given", "shown"), [
    ("s3://AKIA1:s3cret@bucket/path", "s3://***@bucket/path"),
    ("https://user:s3cret@host/x?token=t0ken&day=1", "https://***@host/x?token=***&day=1"),
    ("s3://AKIA1:wJa/s3cret@bucket/p: not found", "s3://***@bucket/p: not found"),  # a '/' in the secret
    ("https://h/x?X-Amz-Credential=AK/1&X-Amz-Signature=t0ken", "https://h/x?X-Amz-Credential=***&X-Amz-Signature=***"),
    ("https://acct.blob.core.windows.net/c?sv=2020&sig=t0ken%3D", "https://acct.blob.core.windows.net/c?sv=2020&sig=***"),
    ("s3://bucket/team@example.com/x", "s3://bucket/team@example.com/x"),  # an '@' in a path is no credential
    ("/srv/data", "/srv/data"),
])
def test_redact_hides_credentials_and_keeps_the_rest(given, shown):
    from pipeline.data.location import data_location, redact

    assert redact(given) == shown
    assert not any(secret in data_location(given) for secret in SECRETS)


def test_a_data_url_with_credentials_is_read_but_never_shown_or_stored(trained_store, tmp_path, churn_here):
    """A real score on Dask (an in-process cluster) of `file://user:s3cret@/data?token=t0ken`: fsspec reads
    it as the folder 'user:s3cret@/data?token=t0ken' under the working folder, so the run can only succeed
    by reading the real URL; stdout, stderr, the manifests and the MLflow store hold no secret."""
    import shutil

    import distributed

    folder = tmp_path / "user:s3cret@"
    folder.mkdir()
    (folder / "data?token=t0ken").symlink_to(trained_store.data, target_is_directory=True)
    store = tmp_path / "mlflow.db"
    shutil.copyfile(trained_store.tracking_uri.removeprefix("sqlite:///"), store)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    url = "file://user:s3cret@/data?token=t0ken"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        done = churn_here(["score", "--data", url, "--out", "out", "--scheduler", cluster.scheduler_address,
                           "--model", trained_store.model_uri, "--capacity", "20", "--json"], tmp_path, env)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["data"] == "file://***@/data?token=***"
    assert json.loads(done.stdout.strip().splitlines()[-1])["clients_listed"] == 20
    texts = [done.stdout, done.stderr] + [p.read_text() for p in (tmp_path / "out").rglob("manifest.json")]
    with sqlite3.connect(store) as db:
        texts += [repr(row) for table in ("tags", "params", "runs") for row in db.execute(f"SELECT * FROM {table}")]
    assert not [text for text in texts if any(secret in text for secret in SECRETS)]
    assert not store.with_name("churn-error.log").exists()
