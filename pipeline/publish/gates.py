"""The gates a night's list passes before publication: each reads what the run collected, writes
its report, and says what (if anything) stops the list. A new gate is one more function here
returning a `GateResult`, listed by the score job.

    (manifest.json)     the coverage gate: no client scored, or too few against the published run
    drift_report.csv    the drift gate: this run's inputs and scores against the training reference
    monitoring.csv      the monitoring gate: realised performance of earlier lists once the data covers
                        their horizon
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models import drift, monitoring
from pipeline.config import AppConfig
from pipeline.publish.files import publish_file
from pipeline.publish.manifest import published_manifest
from pipeline.publish.runs import DRIFT_REPORT, HISTORY, MANIFEST

log = logging.getLogger(__name__)

MONITORING = "monitoring.csv"


@dataclass
class GateResult:
    """What a gate found: messages that stop tonight's list (none: it passes) and its report."""

    stop: list[str] = field(default_factory=list)
    report: Any = None


def coverage_gate(out: Path, clients_scored: int, day: str, config: AppConfig) -> GateResult:
    """No client scored, or fewer than scoring.min_scored_share of the clients the published run scored
    (its manifest): the list would be empty or cut short, so it stops. The report is the published
    run's count (None when nothing is published)."""
    published = published_manifest(out) or {}
    before = published.get("clients_scored")
    share = config.scoring.min_scored_share
    scored = f"{clients_scored:,} clients scored as of {day}"
    if before is not None and clients_scored < share * before:
        return GateResult([f"stopped by the coverage gate: {scored}, fewer than scoring.min_scored_share "
                           f"{share:g} of the {before:,} the published list of {published.get('as_of')} scored; "
                           f"it stays published (see {MANIFEST})"], before)
    if not clients_scored:
        return GateResult([f"stopped by the coverage gate: {scored} (no client active that day: is the as-of "
                           f"before the data?); nothing published (see {MANIFEST})"], before)
    return GateResult(report=before)


def drift_gate(out: Path, profiles: dict, counts: dict[str, np.ndarray], config: AppConfig) -> GateResult:
    """Tonight's features and scores against the model's training reference (drift_report.csv)."""
    if not profiles:
        log.warning("the model stores no drift reference (trained before drift reports existed): retrain to "
                    "enable the drift gate")
        (out / DRIFT_REPORT).unlink(missing_ok=True)
        return GateResult()
    report = drift.assess(profiles, counts, config.drift)
    publish_file(out / DRIFT_REPORT, report.table.to_csv(index=False).encode("utf-8"))
    drifted = bool(report.table["status"].isin(["warn", "stop"]).any())  # "noise" is not drift
    for message in report.messages:
        log.log(logging.WARNING if drifted else logging.INFO, "drift: %s", message)
    stop = ["stopped by the drift gate: " + "; ".join(report.messages)
            + f" (see {DRIFT_REPORT}; thresholds under drift: in the config)"] if report.stop else []
    return GateResult(stop, report)


def monitoring_gate(out: Path, cutoff: pd.Timestamp, churn: pd.DataFrame | None, horizon: int, config: AppConfig,
                    capacity: float, model_version: str, has_churn_table: bool,
                    data_end: pd.Timestamp | None = None) -> GateResult:
    """Earlier lists graded once the data covers their horizon (monitoring.csv): the latest day the tables
    hold (`data_end`) is at least the list's day plus its horizon; a breach warns or stops. Without a
    churn table the data does not say who left: earlier lists cannot be graded tonight (`churn` is
    None also when the table is there but names nobody)."""
    if not has_churn_table:
        return GateResult(report=[])
    judged = monitoring.judged_at(cutoff, data_end)
    realised, breaches = _grade_earlier_lists(out, cutoff, judged, churn, horizon, config, capacity, model_version)
    for message in breaches:
        log.warning("monitoring: %s", message)
    stop = ["stopped by monitoring: " + "; ".join(breaches) + f" (see {MONITORING})"] \
        if breaches and config.monitoring.on_breach == "stop" else []
    return GateResult(stop, realised)


def _grade_earlier_lists(out: Path, cutoff: pd.Timestamp, judged: pd.Timestamp, churn: pd.DataFrame | None,
                         horizon: int, config: AppConfig, capacity: float, model_version: str
                         ) -> tuple[list[dict], list[str]]:
    """Grade every list published before `cutoff`, not graded yet, whose horizon the data covers at
    `judged` (the as-of, or the data's last day when earlier).

    Returns the new rows and the breaches that decide tonight: those of the latest graded list
    of the model scoring tonight, new or not, so a stop holds night after night until the model
    changes (a retrained or promoted champion starts clean).
    """
    path = out / MONITORING
    existing = pd.read_csv(path, dtype={"list_as_of": str, "evaluated_at": str, "model_version": str}) \
        if path.exists() else None
    done = set() if existing is None else set(existing["list_as_of"].astype(str))
    figures, breaches = [], []
    for scores_path in sorted((out / HISTORY).glob("scores_*.parquet")):
        list_day = scores_path.stem.removeprefix("scores_")
        list_as_of = pd.Timestamp(list_day)
        if list_day in done or list_as_of >= cutoff:
            continue
        scores = pd.read_parquet(scores_path)
        list_horizon = int(scores["horizon_days"].iloc[0]) if "horizon_days" in scores and len(scores) else horizon
        if not monitoring.matured(list_as_of, list_horizon, judged):
            log.info("monitoring: %s", monitoring.not_matured(list_as_of, list_horizon, judged))
            continue
        version = str(scores["model_version"].iloc[0]) if "model_version" in scores and len(scores) else ""
        row = monitoring.realised(scores[["client_id", "churn_probability", "rank"]], churn, list_as_of,
                                  list_horizon, judged, capacity, model_version=version)
        figures.append(row)
        existing = monitoring.append_row(existing, row)
        log.info("realised performance of the %s list: ROC AUC %.3f, precision at capacity %.3f, lift %.2f",
                 list_day, row["roc_auc"], row["precision_at_capacity"], row["lift_at_capacity"])
    if figures:
        publish_file(path, existing.to_csv(index=False).encode("utf-8"))
    mine = None if existing is None else existing[existing["model_version"].astype(str) == str(model_version)]
    if mine is not None and len(mine):
        breaches = monitoring.breaches(mine.iloc[-1].to_dict(), config.monitoring)
    return figures, breaches

