"""Where a job's work runs: one interface (`Engine`, engines/base.py), three engines.

`open_engine` picks the engine a run's config and data call for and holds its resources (a Dask
cluster) for as long as the job runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.config import AppConfig
from pipeline.data import partitions
from pipeline.engines.base import Engine, Portfolio, ScoringJob, TrainingData
from pipeline.engines.local import LocalEngine
from pipeline.engines.partitioned import PartitionedEngine

__all__ = ["Engine", "Portfolio", "ScoringJob", "TrainingData", "open_engine"]


@contextmanager
def open_engine(config: AppConfig, *, scoring: Path | str | None = None,
                partition_clients: int | None = None) -> Iterator[Engine]:
    """The configured engine. Locally, scoring a folder too big for one pass (`scoring`: its data
    folder) goes to hash partitions of `partition_clients` clients (default: the config's)."""
    if config.engine.kind == "dask":
        from pipeline.engines import dask_cluster
        from pipeline.engines.dask_engine import DaskEngine

        with dask_cluster.connect(config.engine) as client:
            yield DaskEngine(client)
        return
    if scoring is not None:
        n = partitions.partitions_needed(Path(scoring), partition_clients or config.scoring.partition_clients,
                                         config.scoring.partition_rows)
        if n > 1:
            yield PartitionedEngine(n)
            return
    yield LocalEngine()
