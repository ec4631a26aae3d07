"""Fixtures shared by the whole test run, each built once (session scope).

`generated_data`: one folder of generated contract tables (1,500 clients, seed 4).
`trained_store`: one model trained on it with the default config, registered as churn v1 and
churn@champion in one MLflow sqlite store.
`new_store`: an empty MLflow sqlite store of a test's own.
`churn_here`: the `churn` command run in this process, for tests not about the process itself.
`forks`: the real command in processes of their own, forked from a process forked from this one before
any test ran (no new interpreter importing everything again), for tests about the process itself.

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
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import pandas as pd

# as the churn command does (pipeline/cli.py): LightGBM's OpenMP threads wait passively, or a test
# fitting in this process while another process holds a core slows down fivefold
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# one thread per process for BLAS and OpenMP pools that size themselves by the cores (numpy's BLAS under
# scikit-learn's logistic regressions, LightGBM calls without num_threads): `make test` already runs a
# worker per core, and two pools of two threads on two cores only wait on each other (~6% of the run; a
# default training here took 27.6 s of CPU with two BLAS threads, 19.6 s with one).
# Set before anything imports numpy (pandas is imported inside the fixtures below); the commands the
# tests start inherit it. Results do not depend on it: the recorded bytes of test_end_to_end match.
for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

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
    import pandas as pd

    stamps = pd.to_datetime(values)
    return stamps.dt.tz_convert("UTC").dt.tz_localize(None) if stamps.dt.tz is not None else stamps


@pytest.fixture(scope="session")
def active_at():
    """active_at(folder, day): ids of the clients signed up by the end of `day` and not churned by
    then, read straight from the folder's Parquet files (not through the pipeline's loader): what a
    scoring run as of `day` must score."""

    def ids(folder: Path, day: str) -> set[str]:
        import pandas as pd

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


# ------------------------------------------------------------------ processes forked from this one

# A test about the process itself (a SIGKILL in the middle of a run, a lock another process holds) needs
# the real command in a process of its own; a new interpreter importing pandas, LightGBM and MLflow costs
# ~8 s. `forks` starts such runs as forks instead, of a process forked from this one once the tests are
# collected and before any has run (`pytest_collection_finish`): it has what collection imported, and
# LightGBM's OpenMP runtime (libgomp) has not started its threads yet. A process forked after a fit or
# a prediction here would hang at its first parallel region (libgomp cannot be used across a fork), and
# so would its forks: the runs are never forked from this process itself.
_FORKS = pytest.StashKey["_Zygote"]()
# what a run imports, or builds, on first use (the score command's modules, model loading, the store's
# schema check, the charts, the workbook): imported once in the zygote, not in every run it forks
_WARM_MODULES = ("pipeline.cli", "pipeline.jobs.score", "mlflow.store.tracking.sqlalchemy_store",
                 "mlflow.store.model_registry.sqlalchemy_store", "mlflow.store.tracking.sqlalchemy_workspace_store",
                 "mlflow.store.model_registry.sqlalchemy_workspace_store", "mlflow.pyfunc",
                 "mlflow.tracing.processor.otel", "alembic.command", "alembic.config", "sqlalchemy.dialects.sqlite",
                 "matplotlib.backends.backend_agg", "matplotlib.figure", "matplotlib.ticker", "openpyxl",
                 "pandas.io.formats.csvs", "pyarrow.dataset")
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class _Zygote:
    pid: int
    requests: int   # write end: one JSON line per run
    replies: int    # read end: the run's pid, then its exit status (as subprocess.Popen.returncode)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    if any("forks" in getattr(item, "fixturenames", ()) for item in session.items):
        session.config.stash[_FORKS] = _fork_zygote()


def pytest_unconfigure(config: pytest.Config) -> None:
    import signal
    import time

    zygote = config.stash.get(_FORKS, None)
    if zygote is None:
        return
    os.close(zygote.requests)  # the zygote reads the end of its requests and leaves
    deadline = time.monotonic() + 30
    while not os.waitpid(zygote.pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(zygote.pid, signal.SIGKILL)  # and a run it still waits for with it (PDEATHSIG)
            os.waitpid(zygote.pid, 0)
            break
        time.sleep(0.05)
    os.close(zygote.replies)


def _fork_zygote() -> _Zygote:
    requests_r, requests_w = os.pipe()
    replies_r, replies_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # never returns into pytest
        status = 1
        try:
            os.close(requests_w)
            os.close(replies_r)
            _serve(parent, requests_r, replies_w)
            status = 0
        finally:
            os._exit(status)
    os.close(requests_r)
    os.close(replies_w)
    return _Zygote(pid, requests_w, replies_r)


def _die_with_parent(parent: int) -> None:
    import ctypes
    import signal

    with contextlib.suppress(AttributeError):  # Linux only; elsewhere the zygote leaves at its requests' end
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the call
        os._exit(1)


def _serve(parent: int, requests_r: int, replies_w: int) -> None:
    """The zygote: for each request (one run, or runs started together), fork the runs and answer their
    pids, then their exit statuses, in the order of the request."""
    import atexit
    import importlib
    import json

    _die_with_parent(parent)
    atexit._clear()  # pytest's exit handlers are neither the zygote's nor its runs'
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    warm = False
    with os.fdopen(requests_r, "rb") as requests:
        for line in requests:
            if not warm:
                for name in _WARM_MODULES:
                    with contextlib.suppress(ImportError):
                        importlib.import_module(name)
                warm = True
            zygote, pids = os.getpid(), []
            for run in json.loads(line):
                pid = os.fork()
                if pid == 0:
                    os.close(requests_r)
                    os.close(replies_w)
                    _die_with_parent(zygote)
                    _run_as_python_c(run)  # never returns
                pids.append(pid)
                os.write(replies_w, b"%d\n" % pid)
            for pid in pids:
                os.write(replies_w, b"%d\n" % os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))


def _run_as_python_c(run: dict) -> None:
    """Run `run["code"]` as `python -c code argv...` would, then leave: its folder, environment, stdin
    (/dev/null), stdout and stderr (files), SystemExit and an uncaught error ending it as they end Python."""
    import _warnings
    import atexit
    import logging
    import signal
    import sys
    import threading
    import traceback
    import warnings

    status = 1
    try:
        os.chdir(run["cwd"])
        os.environ.clear()
        os.environ.update(run["env"])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, run["stdout"], os.O_WRONLY | os.O_CREAT),
                                (2, run["stderr"], os.O_WRONLY | os.O_CREAT)):
            opened = os.open(path, flags, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        # what pytest changed in this process, put back as a new interpreter has it: Python's own streams on
        # the descriptors (not pytest's captures), warning filters, hooks, logging and signal handlers
        sys.stdin = sys.__stdin__ = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = sys.__stdout__ = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
        warnings.filters = _warnings.filters  # the interpreter's own list, not pytest's copy for collecting
        warnings._filters_mutated()
        sys.excepthook, threading.excepthook = sys.__excepthook__, threading.__excepthook__
        logging.root.handlers.clear()
        logging.root.setLevel(logging.WARNING)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.argv = ["-c", *run["argv"]]
        exec(compile(run["code"], "<string>", "exec"), {"__name__": "__main__"})
        status = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            status = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            threading._shutdown()  # as Python ends: waits for the threads that are not daemons,
            atexit._run_exitfuncs()  # runs the exit handlers the run registered, flushes the streams
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


class Forked:
    """A forked run; as subprocess.Popen: pid, send_signal, wait, returncode, stdout, stderr."""

    def __init__(self, forks: Forks, pid: int, stdout: Path, stderr: Path):
        self.forks, self.pid, self._out, self._err = forks, pid, stdout, stderr
        self.returncode: int | None = None
        self.stdout = self.stderr = ""

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = 120) -> int:
        try:
            if self.returncode is None:
                self.forks.reap(self, timeout)
        finally:
            self.stdout, self.stderr = self._out.read_text(), self._err.read_text()
        return self.returncode


class Forks:
    """start(code, argv, cwd, env) -> Forked: `python -c code argv...` run in `cwd` with exactly `env` as its
    environment, forked from the zygote; run(...) waits for it; together([(code, argv, cwd, env), ...])
    starts several at once (a race between processes). The zygote answers the exit statuses in the order
    the runs were started: a wait reads them up to its own."""

    def __init__(self, zygote: _Zygote, folder: Path):
        self.zygote, self.folder, self.runs = zygote, folder, 0
        self.running: list[Forked] = []  # started, exit status not read yet, in the zygote's order

    def line(self, timeout: float) -> str:
        import select
        import time

        data, deadline = b"", time.monotonic() + timeout
        while not data.endswith(b"\n"):
            if not select.select([self.zygote.replies], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError(f"no answer from the zygote in {timeout} s")
            chunk = os.read(self.zygote.replies, 1)
            assert chunk, "the zygote has ended"
            data += chunk
        return data.decode()

    def reap(self, forked: Forked, timeout: float) -> None:
        """The exit statuses of the runs started up to `forked`; past `timeout`, every run still going is
        killed (SIGKILL) and TimeoutError raised."""
        import signal
        import time

        deadline = time.monotonic() + timeout
        try:
            while forked.returncode is None:
                self.running[0].returncode = int(self.line(max(0.0, deadline - time.monotonic())))
                self.running.pop(0)
        except TimeoutError:
            for run in self.running:
                with contextlib.suppress(ProcessLookupError):  # ended and reaped since
                    run.send_signal(signal.SIGKILL)
            while self.running:
                self.running.pop(0).returncode = int(self.line(30))
            raise

    def together(self, runs: list[tuple[str, list[str], Path, dict[str, str]]]) -> list[Forked]:
        import json

        # the zygote reads a request once the runs of the one before have ended
        assert not self.running, "runs still going: wait for them before starting more"
        started, requests = [], []
        for code, argv, cwd, env in runs:
            self.runs += 1
            out, err = self.folder / f"{self.runs}.out", self.folder / f"{self.runs}.err"
            requests.append({"code": code, "argv": [str(a) for a in argv], "cwd": str(cwd), "env": env,
                             "stdout": str(out), "stderr": str(err)})
            started.append((out, err))
        os.write(self.zygote.requests, (json.dumps(requests) + "\n").encode())
        forked = [Forked(self, int(self.line(120)), out, err) for out, err in started]
        self.running += forked
        return forked

    def start(self, code: str, argv: list[str], cwd: Path, env: dict[str, str]) -> Forked:
        return self.together([(code, argv, cwd, env)])[0]

    def run(self, code: str, argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> Forked:
        forked = self.start(code, argv, cwd, env)
        forked.wait(timeout)
        return forked


@pytest.fixture(scope="session")
def forks(request, tmp_path_factory) -> Forks:
    """Runs of the real command in processes of their own, forked (see `pytest_collection_finish`)."""
    zygote = request.config.stash.get(_FORKS, None)
    assert zygote is not None, "no zygote: it is forked when a collected test uses `forks`"
    return Forks(zygote, tmp_path_factory.mktemp("forked"))
