"""Fixtures shared by the whole test run, each built once (session scope).

`generated_data`: one folder of generated contract tables (1,500 clients, seed 4).
`trained_store`: one model trained on it with the default config, registered as churn v1 and
churn@champion in one MLflow sqlite store.
`new_store`: an empty MLflow sqlite store of a test's own.
`churn_here`: the `churn` command run in this process, for tests not about the process itself.

With `-n`, the data, the trained store and the empty-store template are built once for the whole run,
by the first worker to need them (a file lock under pytest's base folder, `_built_once`); every worker
then works on a copy of its own of the store file (scoring runs log there), the data and the trained
model's artifacts being read-only.

Both are READ-ONLY for the tests that use them: a test that writes outputs does so in its own
folder (`folder_with_data`), and a test that registers, promotes or tunes models trains into a
store of its own. Imports of project code stay inside the fixtures, so a module being moved
breaks only the tests that use it, not the collection of the whole suite.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

# as the churn command does (pipeline/cli.py): LightGBM's OpenMP threads wait passively, or a test
# fitting in this process while another process holds a core slows down fivefold
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

N_CLIENTS = 1500
SEED = 4

# With `-n`, pytest-xdist hands out whole files (pyproject: --dist loadfile, so a module's fixtures
# are built once) in collection order (--no-loadscope-reorder), a new file to a worker as it runs out.
# These modules take longest, longest first: they start early and the many short files fill in behind
# them, instead of a long module starting last while the other workers sit idle. The first two start
# at once on two workers: test_nightly builds the shared trained store (`_built_once`) while
# test_end_to_end spends its first minute on data and a model of its own, then finds the store ready.
# The rest keep their order.
SLOWEST_FIRST = (
    "pipeline/test_nightly.py",
    "pipeline/test_end_to_end.py",
    "pipeline/test_dask_engine.py",
    "pipeline/test_bench_quality.py",
    "notebooks/test_notebooks.py",
    "pipeline/test_tuning_job.py",
    "pipeline/test_champion.py",
    "pipeline/test_quality.py",
    "pipeline/test_champion_across_data.py",
    "pipeline/test_exports.py",
    "models/test_training.py",
    "pipeline/test_reproducibility.py",
    "features/test_point_in_time.py",
    "pipeline/test_profiles.py",
    "pipeline/test_layout.py",
    "pipeline/test_bad_input.py",
    "pipeline/test_cli_errors.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(here).as_posix() if item.path.is_relative_to(here) else ""
        return SLOWEST_FIRST.index(path) if path in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # a stable sort: the tests of a module keep their order


def _file_state(path: Path) -> tuple:
    return (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else ()


@pytest.fixture(scope="session", autouse=True)
def user_store_untouched(tmp_path_factory):
    """No test touches the user-level MLflow store (pipeline/tracking/store.py): every command started
    with this process's environment finds its default store under a temporary XDG_DATA_HOME, and the
    real one (if any) is checked unchanged at the end of the run."""
    from pipeline.tracking.store import user_store_path

    real = user_store_path(os.environ)
    before = (_file_state(real), real.parent.exists())
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("xdg_data_home"))
    yield
    assert (_file_state(real), real.parent.exists()) == before, f"a test touched the user-level store {real}"


@dataclass(frozen=True)
class TrainedStore:
    data: Path           # the generated folder the model was trained on
    tracking_uri: str    # sqlite store holding churn v1 (champion)
    result: dict         # what pipeline.jobs.train.train returned

    @property
    def model_uri(self) -> str:
        return self.result["model_uri"]


def _built_once(tmp_path_factory, name: str, build) -> Path:
    """The folder <run>/<name>, filled by `build(folder)` once for the whole run: with `-n`, by the
    first worker to get here while the others wait on the lock and then take what it built. <run> is
    the base folder of the run (the parent of each worker's own) and a new one each run, so nothing
    carries over from run to run."""
    import fcntl
    import shutil

    base = tmp_path_factory.getbasetemp()
    run = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = run / f"built_{name}", run / f"built_{name}.done"
    with open(run / f"built_{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)  # what a failed build left
                folder.mkdir()
                build(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


@pytest.fixture(scope="session")
def generated_data(tmp_path_factory) -> Path:
    def build(folder: Path) -> None:
        from pipeline.synth.generator import generate

        generate(folder / "data", n_clients=N_CLIENTS, seed=SEED)

    return _built_once(tmp_path_factory, "shared", build) / "data"


@pytest.fixture(scope="session")
def new_store(tmp_path_factory):
    """new_store(db) -> tracking URI: an empty MLflow sqlite store in the file `db`, as MLflow creates
    one. MLflow's migrations (~2 s a store) run once, in a template that is copied; artifacts live
    beside the file, as for any sqlite store of this project (pipeline/tracking/registry.py)."""
    import shutil

    def build(folder: Path) -> None:
        from mlflow import MlflowClient

        uri = f"sqlite:///{folder / 'mlflow.db'}"
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()

    template = _built_once(tmp_path_factory, "empty_store", build) / "mlflow.db"

    def make(db: Path) -> str:
        assert not db.exists(), db
        shutil.copyfile(template, db)
        return f"sqlite:///{db}"

    return make


@pytest.fixture(scope="session")
def trained_store(generated_data, tmp_path_factory, new_store) -> TrainedStore:
    """Trained once for the run (`_built_once`); each worker gets a copy of the store file, so the
    scoring runs its tests log land in a store of its own. The copy's registered model points to the
    artifacts where they were logged (beside the first store), which no test writes."""
    import pickle
    import shutil

    def build(folder: Path) -> None:
        from pipeline.config import load_config
        from pipeline.jobs.train import train

        uri = new_store(folder / "mlflow.db")
        result = train(generated_data, config=load_config(None), tracking_uri=uri, out=folder / "train")
        (folder / "result.pickle").write_bytes(pickle.dumps(result))

    built = _built_once(tmp_path_factory, "shared_store", build)
    root = tmp_path_factory.mktemp("shared_store")
    shutil.copyfile(built / "mlflow.db", root / "mlflow.db")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = pickle.loads((built / "result.pickle").read_bytes())
    return TrainedStore(generated_data, uri, {**result, "tracking_uri": uri})


@pytest.fixture(scope="session")
def folder_with_data(generated_data, tmp_path_factory):
    """make(name): a new folder of the caller's own, with the shared data reachable as <folder>/data
    (a link), so a module writes its outputs beside the data without writing into it."""

    def make(name: str) -> Path:
        root = tmp_path_factory.mktemp(name)
        (root / "data").symlink_to(generated_data, target_is_directory=True)
        return root

    return make


def _day(values: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(values)
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None) if stamps.dt.tz is not None else stamps


@pytest.fixture(scope="session")
def active_at():
    """active_at(folder, day): ids of the clients signed up by the end of `day` and not churned by
    then, read straight from the folder's Parquet files (not through the pipeline's loader): what a
    scoring run as of `day` must score."""

    def ids(folder: Path, day: str) -> set[str]:
        end = pd.Timestamp(day) + pd.Timedelta(days=1)
        clients = pd.read_parquet(Path(folder) / "clients.parquet")
        signed = set(clients.loc[_day(clients["signup_date"]) < end, "client_id"].astype(str))
        churn_file = Path(folder) / "churn.parquet"
        if not churn_file.exists():
            return signed
        churn = pd.read_parquet(churn_file)
        return signed - set(churn.loc[_day(churn["churned_at"]) < end, "client_id"].astype(str))

    return ids


@dataclass(frozen=True)
class Done:
    """What a `churn` run left, under the names subprocess.CompletedProcess gives them."""
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def churn_here():
    """churn_here(args, cwd, env, expect=0): `churn <args>` run in this process (typer's CliRunner) with
    exactly `env` as its environment and `cwd` as its folder: the same flags, exit code, stdout and
    stderr (the log included) as the command in a subprocess, without a new interpreter importing
    pandas, LightGBM and MLflow again. For tests not about the process itself (a kill, a lock held by
    another process, what Python prints on its own): those start the real command. An exception the
    command lets escape fails the test; the logging set-up and the SIGTERM handler the command installs
    are put back afterwards, so the tests that follow in this process log as before."""

    def run(args: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> Done:
        import logging
        import signal
        from unittest import mock

        from typer.testing import CliRunner

        from pipeline.cli import app, global_flags_first

        loggers = [logging.getLogger(name) for name in ("", "churn", "pipeline", "features", "models")]
        saved = [(logger, logger.handlers[:], logger.level) for logger in loggers]
        sigterm = signal.getsignal(signal.SIGTERM)
        try:
            with mock.patch.dict(os.environ, env, clear=True), contextlib.chdir(cwd):
                result = CliRunner().invoke(app, global_flags_first([str(arg) for arg in args]),
                                            catch_exceptions=False)
        finally:
            signal.signal(signal.SIGTERM, sigterm)
            for logger, handlers, level in saved:
                logger.handlers[:] = handlers
                logger.setLevel(level)
        done = Done(result.exit_code, result.stdout, result.stderr)
        assert done.returncode == expect, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        return done

    return run
