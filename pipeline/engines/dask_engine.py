"""The Dask engine: the same contract checks and feature builders, run per client partition on a
Dask cluster (one you already run, or a `distributed.LocalCluster` started for the run).

1. Every table is read as a Dask dataframe and shuffled on a stable hash of the client_id into
   `n` partitions, the same in every table (engines/dask_tables.py).
2. Each partition is checked by the local engine's checks and kept on the workers; what needs the
   whole portfolio (the as-of day, the spec's event levels, the cutoff plan, quarantine) is
   reduced from small per-partition summaries (engines/dask_work.py).
3. Features come from the local builders per partition; training is LightGBM's Dask estimator,
   scoring a `map_partitions` of the model whose outputs the workers write.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from features.cutoffs import as_of, latest_date
from models import FitResult
from models.distributed import fit_distributed
from models.training import SplitRule, client_bucket, split_rule
from pipeline.config import AppConfig
from pipeline.data import datasets
from pipeline.data.contract import LoadResult
from pipeline.data.totals import InputTotals
from pipeline.data.values import Limits
from pipeline.engines import dask_tables, dask_work
from pipeline.engines.base import (
    Portfolio,
    ScoringJob,
    TrainingData,
    account,
    last_allowed_day,
    learn_spec,
    note_set_aside,
    plan_training,
    scores_of,
)
from pipeline.engines.local import log_reports
from pipeline.progress import Timer
from pipeline.publish.manifest import RunRecord
from pipeline.publish.runs import WORK

log = logging.getLogger(__name__)

# Above this many training rows the Dask engine brings back only what the report needs: the
# validation rows, the latest cutoff (drift reference) and a sample of clients for the baselines.
REPORT_ROWS = 2_000_000


@dataclass
class DaskTrainingData(TrainingData):
    """Training data whose rows live on the cluster; `rows` holds those the report needs."""

    everything: Any = None    # dask DataFrame of every training row
    rule: SplitRule | None = None


class DaskEngine:
    kind = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client

    # ------------------------------------------------------------------------------------ training

    def prepare_training(self, data: Path | str, *, config: AppConfig, until: date | None, out: Path,
                         timer: Timer, run_day: date | None = None) -> TrainingData:
        """Checks and builders per partition on the cluster; the plan and spec from reductions of the
        partitions (the same functions as the local engine's)."""
        client, tc = self.client, config.training
        last_day = last_allowed_day(run_day, config.data.future_tolerance_days)
        with timer("read"):
            parts = dask_tables.checked_partitions(client, str(data), require_churn=True,
                                                   clients_per_partition=config.scoring.partition_clients,
                                                   rows_per_partition=config.scoring.partition_rows,
                                                   limits=Limits.of(config.data), last_day=last_day)
            totals = InputTotals()
            for part in parts.reports:
                totals.account(part)
            totals.finish(Path(out) / "quarantine", config.data.max_rejected_share)
            note_set_aside(totals.reports, last_day)
            log_reports(totals.reports)
            whole = dask_work.summary(client, parts)
        until_ts = pd.Timestamp(until) if until else latest_date(whole)
        known = as_of(whole, until_ts)
        plan, spec_date = plan_training(known, until_ts, config)
        spec = learn_spec(known, spec_date, config, levels=dask_work.levels(client, parts, min(spec_date, until_ts)))
        with timer("features"):
            rows = dask_work.features(client, parts, list(plan.cutoffs), spec, until=until_ts,
                                      horizon_days=tc.horizon_days)
            rule = split_rule(dict(zip(plan.cutoffs, plan.churners)), tc)
            total = int(rows.map_partitions(len).compute().sum())
            kept = self._report_rows(rows, rule, plan.cutoffs[-1], total, config)

        def scores_at(cutoffs, other) -> pd.DataFrame:
            # another model's probabilities, computed on the cluster: only three columns come back
            frame = dask_work.features(client, parts, list(cutoffs), other.spec, until=until_ts)
            meta = pd.DataFrame({"client_id": pd.Series(dtype=str), "cutoff": pd.Series(dtype=str),
                                 "probability": pd.Series(dtype=float)})
            return frame.map_partitions(scores_of, other, meta=meta).compute()

        return DaskTrainingData(LoadResult(tables=whole, reports=totals.reports), known, until_ts, plan, spec, kept,
                                scores_at=scores_at, total_rows=total, everything=rows, rule=rule)

    @staticmethod
    def _report_rows(rows: Any, rule: SplitRule, latest: pd.Timestamp, total: int, config: AppConfig
                     ) -> pd.DataFrame:
        """Every training row when few; else the validation rows, the latest cutoff and a sample of clients."""
        tc = config.training
        if total <= REPORT_ROWS:
            kept = rows.compute()
        else:
            share = REPORT_ROWS / total

            def keep(f: pd.DataFrame) -> pd.DataFrame:
                return f[rule.masks(f, tc)[1] | (f["cutoff"] == latest).to_numpy()
                         | (client_bucket(f["client_id"], tc.seed + 1) < share)]
            kept = rows.map_partitions(keep, meta=rows._meta).compute()
            log.info("Dask: %d of %d training rows brought back for the report", len(kept), total)
        return kept.sort_values(["cutoff", "client_id"], kind="mergesort").reset_index(drop=True)

    def fit(self, training: TrainingData, config: AppConfig) -> FitResult:
        assert isinstance(training, DaskTrainingData), "the Dask engine fits what it prepared"
        split = training.rule.split(training.rows, config.training)
        return fit_distributed(training.everything, training.rule, training.spec, config.training, self.client,
                               training.rows.loc[split.valid], split)

    # ------------------------------------------------------------------------------------ scoring

    def score(self, job: ScoringJob) -> Portfolio:
        """Partitions checked, featurised and scored on the cluster; back here come the reports,
        quarantine, per-client list columns and drift counts, as the local engine's."""
        config, engine, client = job.config, job.config.engine, self.client
        work = engine.work_url.rstrip("/") + f"/churn-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}" \
            if engine.work_url else str((job.out / WORK / "dask").resolve())
        job.record.dask_work = work  # clean_up removes what the run leaves there, whatever its outcome
        portfolio = Portfolio.empty(job.profiles)
        with job.timer("read"):
            parts = dask_tables.checked_partitions(client, str(job.data), require_churn=False,
                                                   clients_per_partition=job.partition_clients,
                                                   rows_per_partition=config.scoring.partition_rows,
                                                   limits=Limits.of(config.data), last_day=job.last_day)
        for loaded in parts.reports:
            account(portfolio, loaded, job.record)
        job.record.partitions = parts.n
        portfolio.inputs.finish(job.out / "quarantine", config.data.max_rejected_share)
        note_set_aside(portfolio.inputs.reports, job.last_day)
        portfolio.data_end = dask_work.latest(client, parts)
        portfolio.cutoff = job.as_of if job.as_of is not None else portfolio.data_end
        job.record.as_of = str(portfolio.cutoff.date())
        with job.timer("features"):
            scored = dask_work.score(client, parts, portfolio.cutoff, job.bundle, segments=config.segments,
                                     profiles=job.profiles, missing=config.scoring.missing_features, work=work,
                                     has_monthly_value="monthly_value" in parts.sources["clients"].frame.columns)
        churn = dask_work.churn_rows(client, parts)
        portfolio.cores.append(scored.core)
        for column, counts in scored.counts.items():
            portfolio.counter.counts[column] = portfolio.counter.counts[column] + counts
        if churn is not None:
            portfolio.inputs.churn.append(churn)
        portfolio.rows_of = lambda ids: datasets.read_rows(scored.features_url, ids)
        portfolio.parts_url = scored.parts_url
        return portfolio

    def clean_up(self, record: RunRecord, published: bool) -> None:
        """What the workers wrote outside the output folder: all of it after a failed run, the features
        after a published one (its partitioned list stays, the manifest says where)."""
        if not record.dask_work:
            return
        try:
            datasets.remove(f"{record.dask_work}/{dask_work.FEATURE_PARTS}" if published else record.dask_work)
        except Exception as exc:  # noqa: BLE001 - a leftover is worth a warning, not the night's list
            log.warning("could not remove the Dask work folder %s (%s: %s)", record.dask_work, type(exc).__name__,
                        exc)
