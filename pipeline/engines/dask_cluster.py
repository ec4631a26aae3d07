"""The Dask cluster of a run: one already running (a scheduler address) or a LocalCluster for the run,
its workers checked for this project's code and versions, their warnings forwarded here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from features.errors import ContractError
from pipeline.config import EngineConfig

log = logging.getLogger(__name__)



# ------------------------------------------------------------------------------------------ cluster

@contextmanager
def connect(engine: EngineConfig) -> Iterator[Any]:
    """A client of the configured scheduler, or of a LocalCluster living as long as the run."""
    from distributed import Client, LocalCluster

    # Dask's own routine (workers starting, a shuffle begun or ended, the scheduler closing) stays
    # out of the job's log; its warnings and errors stay in
    logging.getLogger("distributed").setLevel(logging.WARNING)
    logging.getLogger("distributed.shuffle").setLevel(logging.ERROR)
    if engine.scheduler:
        try:
            client = Client(engine.scheduler, timeout=engine.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise ContractError(f"cannot reach the Dask scheduler ({type(exc).__name__}: {exc}); check the "
                                f"address and that the scheduler runs", file=engine.scheduler) from None
        with client:
            _check_workers(client, engine.scheduler)
            _forward_warnings(client)
            log.info("Dask: connected to %s (%d workers)", engine.scheduler, len(client.scheduler_info()["workers"]))
            yield client
        return
    with LocalCluster(n_workers=engine.workers, threads_per_worker=engine.threads_per_worker, processes=True,
                      memory_limit=engine.memory_limit, dashboard_address=None) as cluster, Client(cluster) as client:
        log.info("Dask: started a LocalCluster of %d workers x %d threads for this run", engine.workers,
                 engine.threads_per_worker)
        _forward_warnings(client)
        yield client


def _forward_warnings(client: Any) -> None:
    """What the checks and builders warn about on a worker (a column read as missing, churn dated
    before signup) reaches this job's log, as it would from the local engine. LightGBM's own lines
    (the Dask estimator's port and network set-up, printed on stdout) go to a logger instead, here
    and on the workers, so stdout keeps only the job's result."""
    for name in ("pipeline", "features", "models"):
        client.forward_logging(name, level=logging.WARNING)
    _lightgbm_to_logging()
    client.run(_lightgbm_to_logging)


def _lightgbm_to_logging() -> None:
    import lightgbm

    lightgbm.register_logger(logging.getLogger("lightgbm"))


def code_fingerprint(root: Path | None = None) -> str:
    """A digest of every module of the three packages under `root` (this code's), sub-packages included."""
    import hashlib

    root = root or Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for path in sorted(p for folder in ("features", "models", "pipeline") for p in (root / folder).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"code": code_fingerprint()}
    for package in ("churn-pipeline", "lightgbm", "pandas", "pyarrow", "numpy", "cloudpickle"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def _check_workers(client: Any, address: str) -> None:
    """Workers run this project's code: they need it installed, at the versions this process has."""
    mine = _versions()
    try:
        theirs = client.run(_versions)
    except Exception as exc:  # noqa: BLE001 - a worker that cannot run the check cannot run the job either
        raise ContractError(f"the workers cannot run this project's code ({type(exc).__name__}: {exc}); install "
                            f"churn-pipeline on every worker", file=address) from None
    if not theirs:
        raise ContractError("the cluster has no worker", file=address)
    for worker, versions in theirs.items():
        different = {k: v for k, v in versions.items() if v != mine[k]}
        if different:
            shown = ", ".join(f"{k} {v} (here {mine[k]})" for k, v in different.items())
            raise ContractError(f"worker {worker} runs other versions: {shown}; install the same on every worker",
                                file=address)


def worker_threads(client: Any) -> int:
    return max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()))


# ------------------------------------------------------------------------------------------ reading
