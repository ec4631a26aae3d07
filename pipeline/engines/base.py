"""The engine interface: where the work of a job runs, one contract for every engine.

An engine reads and checks the data folder, finds the latest day, builds features and training
rows with the builders of `features/`, fits, and scores; the jobs call it and never ask which
engine it is. Three engines keep to it:

    LocalEngine        one pass in this process (engines/local.py)
    PartitionedEngine  hash partitions of the clients, one at a time: memory follows the
                       partition, not the data (engines/partitioned.py)
    DaskEngine         client partitions on a Dask cluster (engines/dask_engine.py)

A new engine is one more module implementing `Engine`, chosen in `engines.open_engine`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from features import build_features, fit_spec
from features.cutoffs import CutoffPlan, as_of, day_end, training_cutoffs
from features.errors import ContractError
from features.spec import EventLevels, FeatureSpec
from features.tables import TIME_COLUMNS, Tables
from models import FitResult, ModelBundle, drift, risk_list, validation_window
from models.segments import monthly_values
from pipeline.config import AppConfig
from pipeline.data.contract import LoadResult, parse_time
from pipeline.data.totals import InputTotals, inputs_summary
from pipeline.progress import Timer
from pipeline.publish.manifest import RunRecord

log = logging.getLogger(__name__)

# another model's probabilities at given cutoffs (the champion check): client_id, cutoff, probability
ScoresAt = Callable[[list[pd.Timestamp], ModelBundle], pd.DataFrame]
# the quarantine reason of a row dated after the run's day plus data.future_tolerance_days
FUTURE_REASON = "dated after the run's day"


@dataclass
class TrainingData:
    """Everything a fit needs, prepared once: data known at `until`, cutoffs, spec and rows."""

    loaded: LoadResult
    known: Tables            # the tables cut at `until`
    until: pd.Timestamp
    plan: CutoffPlan
    spec: FeatureSpec
    rows: pd.DataFrame       # labelled rows (an engine on a cluster: those the report needs)
    scores_at: ScoresAt
    total_rows: int          # every training row, wherever it lives


@dataclass
class ScoringJob:
    """What an engine needs to score a portfolio."""

    data: Path | str
    out: Path
    config: AppConfig
    bundle: ModelBundle
    profiles: dict                   # the model's drift reference, per column
    as_of: pd.Timestamp | None       # None: the latest day in the data
    partition_clients: int
    timer: Timer
    record: RunRecord
    run_day: date | None = None      # the run's own day (None: today, UTC): later rows are set aside

    @property
    def last_day(self) -> pd.Timestamp:
        """The latest day a row may be dated (the run's day plus data.future_tolerance_days)."""
        return last_allowed_day(self.run_day, self.config.data.future_tolerance_days)


@dataclass
class Portfolio:
    """What an engine leaves for the portfolio-wide steps (list, gates, reasons, publication)."""

    inputs: InputTotals
    counter: drift.DriftCounter
    cutoff: pd.Timestamp | None = None
    # the latest day any kept row is dated (None: not known; monitoring then judges at the cutoff)
    data_end: pd.Timestamp | None = None
    cores: list[pd.DataFrame] = field(default_factory=list)   # per-client list columns
    # the feature rows of given clients, read back for the reasons of the listed ones
    rows_of: Callable[[np.ndarray], pd.DataFrame] | None = None
    parts_url: str | None = None   # a partitioned risk list written by the engine's workers

    @classmethod
    def empty(cls, profiles: dict) -> Portfolio:
        return cls(InputTotals(), drift.DriftCounter(profiles))

    def churn(self) -> pd.DataFrame | None:
        return pd.concat(self.inputs.churn, ignore_index=True) if self.inputs.churn else None


class Engine(Protocol):
    kind: str

    def prepare_training(self, data: Path | str, *, config: AppConfig, until: date | None, out: Path,
                         timer: Timer, run_day: date | None = None) -> TrainingData: ...

    def fit(self, training: TrainingData, config: AppConfig) -> FitResult: ...

    def score(self, job: ScoringJob) -> Portfolio: ...

    def clean_up(self, record: RunRecord, published: bool) -> None: ...


# ------------------------------------------------------------------------ pieces every engine shares

def last_allowed_day(run_day: date | None, tolerance_days: int) -> pd.Timestamp:
    """The run's day (default: today, UTC) plus the tolerance: no kept row is dated after it."""
    day = run_day if run_day is not None else datetime.now(UTC).date()
    return pd.Timestamp(day) + pd.Timedelta(days=tolerance_days)


def dated_after(frame: pd.DataFrame, name: str, last_day: pd.Timestamp) -> pd.Series:
    """True for each raw row of table `name` with any date or time after the end of `last_day` (a value
    that does not parse is the contract checks' to flag, not this one's)."""
    bound = day_end(last_day)
    late = pd.Series(False, index=frame.index)
    for column in TIME_COLUMNS.get(name, ()):
        if column in frame:
            late |= (parse_time(frame[column])[0] >= bound).fillna(False).to_numpy()
    return late


def future_reasons(sources: dict[str, tuple[pd.DataFrame, str, str]], last_day: pd.Timestamp,
                   known: dict[str, pd.Series | None] | None = None) -> dict[str, pd.Series]:
    """`contract.validate`'s extra reasons for raw sources (frame, file, sha256): FUTURE_REASON for a row
    dated after `last_day`, after any reason already `known` for it (indexed like its frame)."""
    out = {}
    for name, (raw, _, _) in sources.items():
        reasons = (known or {}).get(name)
        late = dated_after(raw, name, last_day)
        if late.any():
            future = pd.Series(pd.NA, index=raw.index, dtype="string").mask(late, FUTURE_REASON)
            reasons = future if reasons is None else reasons.astype("string").fillna(future)
        if reasons is not None:
            out[name] = reasons.reset_index(drop=True)
    return out


def note_set_aside(reports: dict, last_day: pd.Timestamp) -> None:
    """Say how many rows of each table (its TableReport) were dated after the run's day (in quarantine)."""
    for report in reports.values():
        if count := report.reasons.get(FUTURE_REASON, 0):
            log.warning("%s: %d row(s) dated after %s (the run's day plus data.future_tolerance_days) set aside",
                        report.file, count, last_day.date())


def plan_training(known: Tables, until: pd.Timestamp, config: AppConfig) -> tuple[CutoffPlan, pd.Timestamp]:
    """Cutoffs, validation window and the day the spec learns from (data known before validation)."""
    tc = config.training
    plan = training_cutoffs(known, until, tc.horizon_days, tc.n_cutoffs, tc.min_history_days, tc.cutoff_anchor)
    for note in plan.notes:
        log.warning(note)
    if not plan.cutoffs or not any(plan.churners):
        raise ContractError(f"no usable training cutoff holds a churner up to {until.date()} with a "
                            f"{tc.horizon_days}-day horizon: the churn table needs churn dates after the first "
                            f"cutoff and at least {tc.horizon_days} days before --until", file="churn",
                            column="churned_at", count=int(sum(plan.churners)))
    window = validation_window(dict(zip(plan.cutoffs, plan.churners)), tc.validation_cutoffs)
    spec_date = max([t for t in plan.cutoffs if t < min(window)], default=plan.cutoffs[0]) if window \
        else max(t for t, n in zip(plan.cutoffs, plan.churners) if n)
    return plan, spec_date


def learn_spec(known: Tables, spec_date: pd.Timestamp, config: AppConfig,
               levels: EventLevels | None = None) -> FeatureSpec:
    """The spec (event types, category levels) from what was known before validation only."""
    spec = fit_spec(as_of(known, spec_date), config.features, levels=levels)
    for column, why in spec.ignored_columns.items():
        log.warning("clients column '%s' not used as a feature: %s", column, why)
    return spec


def scores_of(features: pd.DataFrame, bundle: ModelBundle) -> pd.DataFrame:
    """client_id, cutoff (ISO date) and the model's probability of each feature row."""
    return pd.DataFrame({"client_id": features["client_id"].astype(str).to_numpy(),
                         "cutoff": features["cutoff"].dt.date.astype(str).to_numpy(),
                         "probability": bundle.predict(features)})


def score_tables(tables: Tables, cutoff: pd.Timestamp, job: ScoringJob, portfolio: Portfolio) -> pd.DataFrame:
    """Features, probabilities, drift counts and list columns of one piece of the data; its features back."""
    timer, config = job.timer, job.config
    with timer("features"):
        features = build_features(tables, [cutoff], job.bundle.spec, missing=config.scoring.missing_features)
    with timer("predict"):
        probability = job.bundle.predict(features)
    with timer("drift"):
        portfolio.counter.add(features.assign(churn_probability=probability))
    with timer("list"):
        portfolio.cores.append(risk_list.score_core(features, probability, monthly_values(tables.clients),
                                                    config.segments))
    if tables.churn is not None and len(tables.churn):
        portfolio.inputs.churn.append(tables.churn[["client_id", "churned_at"]].assign(
            client_id=lambda f: f["client_id"].astype(str)))
    return features


def account(portfolio: Portfolio, loaded: LoadResult, record: RunRecord) -> None:
    """A checked piece's row counts into the run's totals (and the manifest's account of them)."""
    portfolio.inputs.account(loaded)
    record.inputs = inputs_summary(portfolio.inputs)
