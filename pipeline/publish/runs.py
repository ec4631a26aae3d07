"""Run folders of an output folder: staged, switched in by one rename, kept as history.

    risk_list.parquet / .csv / .xlsx, risk_report.html   links into current/
    current -> runs/<run>            the published set, switched by one atomic rename
    runs/<run>/                      each published run: list files, scores, drift report, manifest
    history/risk_list_<as_of>.parquet, history/scores_<as_of>.parquet   one per published day

A run writes into runs/.tmp-<run>, renames it to runs/<run> when complete, then repoints
`current`: a run killed at any moment leaves the previous set in place and no partial file.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from models.summary import ListSummary
from pipeline.exports import FILES, write_outputs
from pipeline.publish.files import fsync_folder, fsync_tree, publish_file, real_folder, replace_link

CURRENT = "current"
RUNS = "runs"
HISTORY = "history"
WORK = ".work"
QUARANTINE = "quarantine"
STAGING_PREFIX = ".tmp-"
MANIFEST = "manifest.json"
DRIFT_REPORT = "drift_report.csv"
SCORES = "scores.parquet"
SCORE_COLUMNS = ("client_id", "rank", "churn_probability", "expected_value_at_risk")
PREVIOUS_COLUMNS = ("client_id", "rank", "as_of", "on_list_since")  # what today's list reads of the last one


def previous_list(out: Path, as_of: str) -> pd.DataFrame | None:
    """The latest list published for an earlier day (a rerun for the same day compares alike)."""
    earlier = sorted(p for p in (out / HISTORY).glob("risk_list_*.parquet")
                     if p.stem.removeprefix("risk_list_") < as_of)
    if not earlier:
        return None
    # a list written before `on_list_since` existed has only its own day to count a stay from
    present = set(pq.read_schema(earlier[-1]).names)
    return pd.read_parquet(earlier[-1], columns=[c for c in PREVIOUS_COLUMNS if c in present])


def clean_leftovers(out: Path) -> None:
    """What a killed run may have left: its staging folder, temporary files, its work folder, a
    published run whose history was not written yet. A link planted where the run writes a folder
    is refused (the work folder's is removed): nothing is written through it to another place."""
    if (out / WORK).is_symlink():
        (out / WORK).unlink()
    shutil.rmtree(out / WORK, ignore_errors=True)
    for name in (RUNS, HISTORY, QUARANTINE):
        if (out / name).is_symlink():
            real_folder(out / name)  # raises, naming the link
    record_history(out)
    runs = out / RUNS
    if runs.is_dir():
        for folder in runs.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(folder, ignore_errors=True)
    for folder in (out, out / HISTORY, out / QUARANTINE):
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class Publication:
    """One night's set, ready to publish."""

    day: str                            # the as-of day (ISO)
    listed: pd.DataFrame                # the risk list
    scored: pd.DataFrame                # every scored client
    summary: ListSummary
    lang: str
    drift_table: pd.DataFrame | None    # the drift report, when the model stores a reference
    horizon: int
    model_version: str
    manifest: dict[str, Any]            # the run's manifest, as published beside the files
    parts_folder: Path | None = None    # a partitioned list on this machine, moved into the run


def publish_run(out: Path, publication: Publication, keep_runs: int, keep_history_days: int) -> dict[str, Path]:
    """Stage the whole set, then switch `current` to it in one rename; history follows the switch."""
    adopt_legacy_files(out)
    p = publication
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}_{p.day}"
    staging = real_folder(out / RUNS) / f"{STAGING_PREFIX}{name}"
    staging.mkdir()
    written = write_outputs(p.listed, p.scored, p.summary, staging, p.lang)
    scores = p.scored[list(SCORE_COLUMNS)].assign(as_of=p.day, horizon_days=p.horizon,
                                                   model_version=str(p.model_version))
    scores.to_parquet(staging / SCORES, index=False)
    if p.drift_table is not None:
        p.drift_table.to_csv(staging / DRIFT_REPORT, index=False)
    if p.parts_folder is not None:
        shutil.move(p.parts_folder, staging / p.parts_folder.name)
    (staging / MANIFEST).write_text(json.dumps(p.manifest, indent=2, sort_keys=True, default=str) + "\n",
                                    encoding="utf-8")
    fsync_tree(staging)
    os.rename(staging, out / RUNS / name)
    fsync_folder(out / RUNS)
    _switch(out, name, [path.name for path in written.values()])
    record_history(out)
    _prune_runs(out, keep_runs)
    _prune_history(out, pd.Timestamp(p.day) - pd.Timedelta(days=keep_history_days))
    return {kind: out / path.name for kind, path in written.items()}


def record_history(out: Path) -> None:
    """history/<kind>_<day> of the published run. Also run at the start of every run, so a run killed
    between its switch and its history writes is rolled forward by the next one."""
    current = out / CURRENT
    if not current.is_symlink() or not current.exists():
        return
    day = os.readlink(current).rsplit("_", 1)[-1]
    try:
        pd.Timestamp(day)
    except ValueError:  # a run adopted from files of the previous layout has no day
        return
    history = real_folder(out / HISTORY)
    for source, kept in ((FILES["parquet"], f"risk_list_{day}.parquet"), (SCORES, f"scores_{day}.parquet")):
        if (current / source).exists() and not ((history / kept).exists()
                                                 and filecmp.cmp(current / source, history / kept, shallow=False)):
            publish_file(history / kept, (current / source).read_bytes())


def _prune_history(out: Path, before: pd.Timestamp) -> None:
    for path in (out / HISTORY).glob("*_*.parquet"):
        try:
            day = pd.Timestamp(path.stem.rsplit("_", 1)[-1])
        except ValueError:
            continue
        if day < before:
            path.unlink(missing_ok=True)


def adopt_legacy_files(out: Path) -> None:
    """An output folder written before run folders existed holds the list files themselves: they
    become a run of their own, so the switch to the new list is as atomic as any other."""
    legacy = [name for name in FILES.values() if (out / name).is_file() and not (out / name).is_symlink()]
    if not legacy or (out / CURRENT).exists():
        return
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}_legacy"
    staging = real_folder(out / RUNS) / f"{STAGING_PREFIX}{name}"
    staging.mkdir()
    for file in legacy:
        shutil.copy2(out / file, staging / file)
    fsync_tree(staging)
    os.rename(staging, out / RUNS / name)
    fsync_folder(out / RUNS)
    _switch(out, name, legacy)  # each file replaced by a link to the same bytes


def _switch(out: Path, run: str, files: list[str]) -> None:
    """Point `current` at the new run (atomic), and each top-level list file through `current`."""
    replace_link(out / CURRENT, Path(RUNS) / run)
    for name in files:
        replace_link(out / name, Path(CURRENT) / name)
    fsync_folder(out)


def _prune_runs(out: Path, keep: int) -> None:
    current = os.readlink(out / CURRENT)
    runs = sorted(p for p in (out / RUNS).iterdir() if p.is_dir() and not p.name.startswith(STAGING_PREFIX))
    for folder in runs[:-keep]:
        if str(Path(RUNS) / folder.name) != current:
            shutil.rmtree(folder, ignore_errors=True)

