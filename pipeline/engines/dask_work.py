"""The Dask engine's work on checked partitions: reductions (latest day, summary, event levels),
features and training rows by the local builders, and scoring by `map_partitions` of the model.

Nothing here decides a number differently from the local engine: tests compare both.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from features import build_features, check_sources, training_rows
from features.cutoffs import as_of, latest_date
from features.errors import ContractError
from features.spec import EventLevels, FeatureSpec, event_levels
from features.tables import CATEGORY_COLUMNS, TABLE_NAMES, TIME_COLUMNS, Tables
from pipeline.data import contract, datasets, reading
from pipeline.engines.dask_tables import Partitioned

log = logging.getLogger(__name__)


def _churn_of(loaded: contract.LoadResult) -> pd.DataFrame | None:
    churn = loaded.tables.churn
    return None if churn is None else churn[["client_id", "churned_at"]].assign(
        client_id=churn["client_id"].astype(str))


def churn_rows(client: Any, parts: Partitioned) -> pd.DataFrame | None:
    """Who left and when (checked rows), for grading earlier lists."""
    frames = [f for f in client.gather(client.map(_churn_of, parts.checked)) if f is not None]
    return pd.concat(frames, ignore_index=True) if frames else None


def _latest(loaded: contract.LoadResult) -> pd.Timestamp | None:
    try:
        return latest_date(loaded.tables)
    except ContractError:
        return None


def latest(client: Any, parts: Partitioned) -> pd.Timestamp:
    days = [d for d in client.gather(client.map(_latest, parts.checked)) if d is not None]
    if not days:
        raise ContractError("no dated row in any table, cannot tell the latest date", file="clients")
    return max(days)


def _summary(loaded: contract.LoadResult) -> dict[str, pd.DataFrame | None]:
    """A partition's per-client tables whole, and of its logs only the rows holding each date
    column's first and last value: enough for the latest day, the cutoff plan and the spec."""
    out: dict[str, pd.DataFrame | None] = {}
    for name, frame in loaded.tables.present().items():
        if name in ("clients", "churn"):
            out[name] = frame
            continue
        keep = np.zeros(len(frame), dtype=bool)
        for column in TIME_COLUMNS[name]:
            if column in frame and frame[column].notna().any():
                values = frame[column].reset_index(drop=True)
                keep[int(values.idxmin())] = True
                keep[int(values.idxmax())] = True
        out[name] = frame[keep]
    return out


def summary(client: Any, parts: Partitioned) -> Tables:
    """Per-client tables of the whole portfolio and the date extremes of the logs, as one Tables
    whose client_id is coded on every client (as `contract.validate` codes a whole table)."""
    pieces = client.gather(client.map(_summary, parts.checked))
    merged: dict[str, pd.DataFrame | None] = {}
    for name in TABLE_NAMES:
        frames = [p[name] for p in pieces if p.get(name) is not None]
        if not frames:
            merged[name] = None
            continue
        frame = pd.concat([f.assign(client_id=f["client_id"].astype(str)) for f in frames], ignore_index=True)
        for column in CATEGORY_COLUMNS.get(name, ()):
            if column in frame:
                frame[column] = frame[column].astype(str).where(frame[column].notna()).astype("category")
        merged[name] = frame
    clients = merged["clients"].sort_values("client_id", kind="mergesort")
    for column in clients.columns:
        if column not in ("client_id", "signup_date", "monthly_value", reading.ROW_NUMBER) \
                and not pd.api.types.is_numeric_dtype(clients[column]):
            # numeric or text is decided per partition: a column empty in one partition came back as
            # text there; decided again on the whole column, as one pass decides it
            clients[column] = contract.attribute(clients[column].astype(object))
    categories = pd.Index(clients["client_id"].to_numpy())
    for name, frame in merged.items():
        if frame is not None:
            merged[name] = frame.assign(client_id=pd.Categorical(frame["client_id"], categories=categories))
    merged["clients"] = clients.assign(client_id=pd.Categorical(clients["client_id"], categories=categories)
                                       ).reset_index(drop=True)
    for name, column in reading.TIME_ORDER.items():
        if merged.get(name) is not None:
            merged[name] = merged[name].sort_values(column, kind="mergesort").reset_index(drop=True)
    return Tables(**merged)


def _levels_at(loaded: contract.LoadResult, cutoff: pd.Timestamp) -> EventLevels | None:
    events = as_of(loaded.tables, cutoff).events
    return None if events is None else event_levels(events)


def levels(client: Any, parts: Partitioned, cutoff: pd.Timestamp) -> EventLevels | None:
    found = [x for x in client.gather(client.map(_levels_at, parts.checked, cutoff=cutoff)) if x is not None]
    return reduce(lambda a, b: a + b, found) if found else None


# ------------------------------------------------------------------------------------------ features

def check_model_sources(parts: Partitioned, spec: FeatureSpec, missing: str) -> None:
    """The model's tables and columns against the data's, here (a warning on a worker stays there)."""
    shapes = {name: source.frame._meta for name, source in parts.sources.items()}
    check_sources(Tables(**{name: shapes.get(name) for name in TABLE_NAMES}), spec, missing)


def _features_of(loaded: contract.LoadResult, cutoffs: list[pd.Timestamp], spec: FeatureSpec, missing: str,
                 until: pd.Timestamp | None, horizon_days: int | None) -> pd.DataFrame:
    """One partition's rows: scoring features (with monthly value) or labelled training rows."""
    from models.segments import monthly_values

    tables = loaded.tables
    if horizon_days is not None:  # training: the data known at `until`, then each cutoff with its label
        rows = training_rows(as_of(tables, until), cutoffs, spec, horizon_days)
        return rows.assign(client_id=rows["client_id"].astype(str), label=rows["label"].astype(np.int8))
    features = build_features(tables, cutoffs, spec, missing=missing)
    features = features.assign(client_id=features["client_id"].astype(str))
    monthly = monthly_values(tables.clients)
    value = monthly.reindex(features["client_id"].astype(str)).to_numpy(dtype=float) if monthly is not None \
        else np.full(len(features), np.nan)
    return features.assign(**{MONTHLY: value})


MONTHLY = "__monthly_value"


def features(client: Any, parts: Partitioned, cutoffs: list[pd.Timestamp], spec: FeatureSpec, *,
             missing: str = "warn", until: pd.Timestamp | None = None, horizon_days: int | None = None):
    """A Dask dataframe of features (scoring) or labelled rows (training): one partition per client
    partition, built by the local builders."""
    import dask.dataframe as dd

    spec_f = client.scatter(spec, broadcast=True)
    futures = client.map(_features_of, parts.checked, cutoffs=list(cutoffs), spec=spec_f, missing=missing,
                         until=until, horizon_days=horizon_days)
    # the frame's types as the builders make them (an empty partition still has every column)
    meta = client.submit(_empty, futures[0]).result()
    return dd.from_delayed(futures, meta=meta, verify_meta=False)


def _empty(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.head(0)


# ------------------------------------------------------------------------------------------ scoring

RISK_PARTS = "risk_list_parts"
FEATURE_PARTS = "features"


LIST = "__list_"  # the list columns beside the features in one frame (a feature may be called monthly_value)
PROBABILITY = "__probability"  # unrounded, as the local engine counts drift on it


def _drift_counts(frame: pd.DataFrame, profiles: dict) -> pd.DataFrame:
    """One partition's drift counts, long (column, bin, count), so partitions add up by a groupby."""
    from models import drift

    counts = drift.DriftCounter(profiles).add(frame.assign(churn_probability=frame[PROBABILITY]))
    return pd.DataFrame([(column, b, int(n)) for column, values in counts.counts.items() for b, n in enumerate(values)],
                        columns=["column", "bin", "count"]).astype({"column": object, "bin": np.int64,
                                                                    "count": np.int64})


@dataclass
class Scored:
    core: pd.DataFrame                 # every scored client's list columns (the local engine's cores)
    counts: dict[str, np.ndarray]      # drift counts, summed over partitions
    work: str                          # where the partitioned outputs are
    features_url: str                  # the features, partitioned (read back for the listed rows)
    parts_url: str                     # the partitioned Parquet risk list


def score(client: Any, parts: Partitioned, cutoff: pd.Timestamp, bundle: Any, *, segments: Any, profiles: dict,
          missing: str, work: str, has_monthly_value: bool) -> Scored:
    """Features per partition, the model per partition (`map_partitions`), outputs written by the
    workers as partitioned Parquet under `work`; the per-client list columns come back here."""
    import dask

    check_model_sources(parts, bundle.spec, missing)
    frame = features(client, parts, [cutoff], bundle.spec, missing=missing)
    model = dask.delayed(bundle, name=f"churn-model-{uuid.uuid4().hex}")
    # the list columns' types as `score_core` makes them, from a few rows scored here
    sample = frame.head(5, npartitions=-1, compute=True)
    meta = _scored_partition(sample, bundle, segments, has_monthly_value).head(0)
    scored = frame.map_partitions(_scored_partition, model, segments, has_monthly_value, meta=meta,
                                  enforce_metadata=False)
    core = scored[[c for c in meta.columns if c.startswith(LIST)]]
    core = core.rename(columns={c: c.removeprefix(LIST) for c in core.columns})
    parts_url, features_url = f"{work}/{RISK_PARTS}", f"{work}/{FEATURE_PARTS}"
    writes = [core.to_parquet(parts_url, write_index=False, compute=False),
              frame.drop(columns=[MONTHLY]).to_parquet(features_url, write_index=False, compute=False)]
    count_meta = pd.DataFrame({"column": pd.Series(dtype=object), "bin": pd.Series(dtype=np.int64),
                               "count": pd.Series(dtype=np.int64)})
    counts = scored.map_partitions(_drift_counts, profiles, meta=count_meta).groupby(["column", "bin"])["count"].sum()
    _, _, summed = dask.compute(*writes, counts)
    total = {column: np.zeros(p.n_bins, dtype=np.int64) for column, p in profiles.items()}
    for (column, b), n in summed.items():
        total[column][b] += int(n)
    core_rows = datasets.read_all(parts_url)
    expected = int(frame.map_partitions(len).compute().sum())
    if len(core_rows) != expected:
        raise ContractError(f"the workers scored {expected} clients but this process reads {len(core_rows)} from "
                            f"{parts_url}: workers and this process must share it; set engine.work_url to storage "
                            f"all of them reach (s3://..., a shared disk)", file=work)
    return Scored(core_rows, total, work, features_url, parts_url)


def _scored_partition(frame: pd.DataFrame, bundle: Any, segments: Any, has_monthly_value: bool) -> pd.DataFrame:
    from models import risk_list

    probability = bundle.predict(frame)
    monthly = pd.Series(frame[MONTHLY].to_numpy(dtype=float), index=frame["client_id"].astype(str)) \
        if has_monthly_value else None
    core = risk_list.score_core(frame, probability, monthly, segments)
    return pd.concat([frame.reset_index(drop=True), core.add_prefix(LIST)], axis=1).assign(
        **{PROBABILITY: np.asarray(probability, dtype=np.float64)})


