"""The partitioned engine: hash partitions of the clients scored one at a time in this process.

Memory follows the partition, not the data (pipeline/data/partitions.py cuts them); training
reads the whole folder as the local engine does.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from features.cutoffs import latest_date
from features.errors import ContractError
from pipeline.data import contract, datasets, partitions, reading
from pipeline.data.totals import inputs_summary
from pipeline.data.values import Limits
from pipeline.engines.base import Portfolio, ScoringJob, account, future_reasons, note_set_aside, score_tables
from pipeline.engines.local import LocalEngine
from pipeline.progress import steps
from pipeline.publish.runs import WORK

log = logging.getLogger(__name__)

NO_DATE = "no dated row in any table, cannot tell the latest date"


def checked_partition(split: partitions.Split, p: int, limits: Limits | None = None,
                      last_day: pd.Timestamp | None = None) -> contract.LoadResult:
    """Partition `p` of every table, checked, with the reasons only the whole data gives (reused tickets)
    and, given `last_day`, rows dated after it set aside."""
    sources = split.partition(p)
    known = {name: split.reasons_for(name, frame[reading.ROW_NUMBER]) for name, (frame, _, _) in sources.items()}
    return contract.validate(sources, quarantine_dir=None, max_rejected_share=1.0, keep_rejected=True,
                             extra_reasons=future_reasons(sources, last_day, known) if last_day is not None else
                             {name: reasons for name, reasons in known.items() if reasons is not None},
                             limits=limits)


class PartitionedEngine(LocalEngine):
    kind = "partitioned"

    def __init__(self, n: int) -> None:
        self.n = n

    def score(self, job: ScoringJob) -> Portfolio:
        log.info("scoring in %d hash partitions of about %d clients", self.n, job.partition_clients)
        job.record.partitions = self.n
        with job.timer("split"):
            split = partitions.split(Path(job.data), job.out / WORK / "split", self.n, require_churn=False)
        if job.as_of is not None:
            portfolio, _ = self._score_partitions(split, job.as_of, job)
        else:
            # The split saw the latest valid date of every row; a row set aside for another reason
            # (unknown client, say) may hold it, so the checked rows have the last word: when they
            # end earlier, the partitions are scored again at their true latest day.
            if split.latest is None:
                raise ContractError(NO_DATE, file="clients")
            first = min(split.latest, job.last_day)  # a row dated later is set aside: it never sets the as-of
            portfolio, exact = self._score_partitions(split, first, job)
            if exact is None:
                raise ContractError(NO_DATE, file="clients")
            if exact != first:
                log.info("the latest valid row is dated %s, not %s: scoring again as of %s", exact.date(),
                         first.date(), exact.date())
                portfolio, _ = self._score_partitions(split, exact, job)
        job.record.as_of = str(portfolio.cutoff.date())
        split.remove()
        portfolio.inputs.finish(job.out / "quarantine", job.config.data.max_rejected_share)
        note_set_aside(portfolio.inputs.reports, job.last_day)
        job.record.inputs = inputs_summary(portfolio.inputs)
        return portfolio

    def _score_partitions(self, split: partitions.Split, cutoff: pd.Timestamp, job: ScoringJob
                          ) -> tuple[Portfolio, pd.Timestamp | None]:
        """Every partition scored at `cutoff`; the latest day the checked rows hold."""
        portfolio = Portfolio.empty(job.profiles)
        portfolio.cutoff = cutoff
        spill = job.out / WORK / "features"
        shutil.rmtree(spill, ignore_errors=True)  # a second pass must not read the first one's rows
        latest = []
        with steps("scoring partitions", self.n) as advance:
            for p in range(self.n):
                with job.timer("read"):
                    loaded = checked_partition(split, p, Limits.of(job.config.data), job.last_day)
                account(portfolio, loaded, job.record)
                portfolio.inputs.stop_early(split, job.out / "quarantine", job.config.data.max_rejected_share)
                try:
                    latest.append(latest_date(loaded.tables))
                except ContractError:
                    pass
                features = score_tables(loaded.tables, cutoff, job, portfolio)
                if len(features):  # an empty partition has nothing to explain
                    with job.timer("explain"):
                        spill.mkdir(parents=True, exist_ok=True)
                        features.to_parquet(spill / f"part-{p:05d}.parquet", index=False)
                del loaded, features
                advance(f"partition {p + 1}")
        portfolio.rows_of = lambda ids: datasets.read_rows(str(spill), ids) if spill.is_dir() \
            else pd.DataFrame({"client_id": np.array([], dtype=object)})
        portfolio.data_end = max(latest) if latest else None
        return portfolio, portfolio.data_end

