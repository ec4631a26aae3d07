"""The local engine: the whole data folder in this process, in one pass."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features import build_features, training_rows
from features.cutoffs import as_of, latest_date
from models import FitResult, fit
from pipeline.config import AppConfig
from pipeline.data import contract
from pipeline.data.values import Limits
from pipeline.engines.base import (
    Portfolio,
    ScoringJob,
    TrainingData,
    account,
    future_reasons,
    last_allowed_day,
    learn_spec,
    note_set_aside,
    plan_training,
    score_tables,
    scores_of,
)
from pipeline.progress import Timer
from pipeline.publish.manifest import RunRecord

log = logging.getLogger(__name__)


def load_checked(data: Path, out: Path, config: AppConfig, require_churn: bool,
                 run_day: date | None = None) -> contract.LoadResult:
    """The folder read and checked; bad rows, and rows dated after the run's day (default: today, UTC)
    plus data.future_tolerance_days, in <out>/quarantine; row counts in the log."""
    sources = contract.read_folder(Path(data), require_churn)
    last_day = last_allowed_day(run_day, config.data.future_tolerance_days)
    result = contract.validate(sources, quarantine_dir=Path(out) / "quarantine",
                               max_rejected_share=config.data.max_rejected_share,
                               extra_reasons=future_reasons(sources, last_day), limits=Limits.of(config.data))
    note_set_aside(result.reports, last_day)
    log_reports(result.reports)
    return result


def log_reports(reports: dict) -> None:
    for report in reports.values():
        log.info("%s: %d rows read, %d used, %d set aside", report.file, report.rows_in, report.rows_used,
                 report.rows_quarantined)


def rows_by_id(features: pd.DataFrame):
    """Reads the feature rows of given clients from a frame held in memory."""
    by_id = features.set_index(features["client_id"].astype(str))

    def rows_of(ids: np.ndarray) -> pd.DataFrame:
        return by_id.loc[ids].reset_index(drop=True)
    return rows_of


class LocalEngine:
    kind = "local"

    def prepare_training(self, data: Path | str, *, config: AppConfig, until: date | None, out: Path,
                         timer: Timer, run_day: date | None = None) -> TrainingData:
        """Read the folder (rows dated after `run_day` plus the tolerance set aside), cut it at `until`,
        choose cutoffs, learn the spec and build labelled rows."""
        with timer("read"):
            loaded = load_checked(Path(data), out, config, require_churn=True, run_day=run_day)
        until_ts = pd.Timestamp(until) if until else latest_date(loaded.tables)
        known = as_of(loaded.tables, until_ts)  # no row after --until, ever
        plan, spec_date = plan_training(known, until_ts, config)
        spec = learn_spec(known, spec_date, config)
        with timer("features"):
            rows = training_rows(known, plan.cutoffs, spec, config.training.horizon_days)
        return TrainingData(loaded, known, until_ts, plan, spec, rows, total_rows=len(rows),
                            scores_at=lambda cutoffs, other: scores_of(build_features(known, cutoffs, other.spec),
                                                                       other))

    def fit(self, training: TrainingData, config: AppConfig) -> FitResult:
        return fit(training.rows, training.spec, config.training)

    def score(self, job: ScoringJob) -> Portfolio:
        portfolio = Portfolio.empty(job.profiles)
        with job.timer("read"):
            loaded = load_checked(Path(job.data), job.out, job.config, require_churn=False, run_day=job.run_day)
        account(portfolio, loaded, job.record)
        job.record.partitions = 1
        portfolio.data_end = latest_date(loaded.tables)
        portfolio.cutoff = job.as_of if job.as_of is not None else portfolio.data_end
        job.record.as_of = str(portfolio.cutoff.date())
        portfolio.rows_of = rows_by_id(score_tables(loaded.tables, portfolio.cutoff, job, portfolio))
        return portfolio

    def clean_up(self, record: RunRecord, published: bool) -> None:
        """Nothing outside the output folder."""
