"""Feature building: contract tables in, one row per active client per cutoff out.

`build_features` is the one entry point; training calls it with many cutoffs, scoring with one.
`declare(spec)` lists every feature a spec makes, as its builders declare it
(`features.declarations.Feature`): what reads a feature reads its declaration, never its name.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from features import clients, cutoffs, events, surveys, tickets
from features.declarations import Feature
from features.errors import ContractError, GateStop
from features.spec import EventLevels, FeaturesConfig, FeatureSpec, learn_spec
from features.tables import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, Tables

__churn_pipeline__ = True  # this project's package, not another of the same name (pipeline/installation.py)

__all__ = ["build_features", "training_rows", "label_frame", "FeatureSpec", "FeaturesConfig", "fit_spec", "Tables",
           "ContractError", "Feature", "declare", "declared", "monotone_directions",
           "categorical_features", "KEY_COLUMNS"]

log = logging.getLogger(__name__)
SOURCE_MODULES = (clients, events, surveys, tickets)  # the builders, in the order of the feature columns
BUILDERS = tuple(module.build for module in SOURCE_MODULES)
KEY_COLUMNS = ("client_id", "cutoff")


def declare(spec: FeatureSpec) -> tuple[Feature, ...]:
    """Every feature the spec makes, in column order, as its builder declares it.

    The declarations are the keys of a build on tables with no row (the builders name their
    columns by declaring them), so they cannot drift from what a build on real data makes. That
    build takes a fifth of a second and a training asks for it several times: it is kept per spec
    (by its JSON form; the declarations are frozen).
    """
    key = json.dumps(spec.to_dict(), sort_keys=True)
    if key not in _DECLARED:
        if len(_DECLARED) >= 32:
            _DECLARED.pop(next(iter(_DECLARED)))  # the oldest
        _DECLARED[key] = _declare(spec)
    return _DECLARED[key]


_DECLARED: dict[str, tuple[Feature, ...]] = {}


def _declare(spec: FeatureSpec) -> tuple[Feature, ...]:
    columns = {"clients": ("client_id", "signup_date", *spec.optional_columns.get("clients", ()),
                           *spec.numeric_attributes, *spec.categorical_attributes)}
    for source in spec.sources:
        columns[source] = (*REQUIRED_COLUMNS[source], *(c for c in spec.optional_columns.get(source, ())
                                                        if c in OPTIONAL_COLUMNS[source]))
    tables = Tables.empty(columns)
    return tuple(f for module in SOURCE_MODULES for f in module.columns(tables, pd.Timestamp(0), spec))


def declared(spec: FeatureSpec) -> dict[str, Feature]:
    """The declaration of each feature of a fitted spec, by name, in the spec's feature order."""
    by_name = {f.name: f for f in declare(spec)}
    missing = [name for name in spec.feature_names if name not in by_name]
    if missing:
        raise ValueError(f"no declaration for feature(s) {', '.join(missing[:5])}: the spec does not match its "
                         f"builders (was the model trained with another version?)")
    return {name: by_name[name] for name in spec.feature_names}


def categorical_features(spec: FeatureSpec) -> list[str]:
    """Features that LightGBM should split on as categories (stored as integer codes)."""
    return [f.name for f in declare(spec) if f.categorical]


def monotone_directions(spec: FeatureSpec) -> list[int]:
    """The declared direction of each feature of the spec, in feature order, ready for LightGBM's
    `monotone_constraints`: +1 a higher value raises churn risk, -1 lowers it, 0 unknown.
    A categorical feature reads 0 (its codes have no order a constraint could use)."""
    return [0 if f.categorical else int(f.direction) for f in declared(spec).values()]


def check_sources(tables: Tables, spec: FeatureSpec, missing: str = "warn") -> None:
    for source in spec.sources:
        if getattr(tables, source) is None:
            error = GateStop if missing == "stop" else ContractError
            raise error(f"the model was trained with the '{source}' table and needs it for its features; "
                        f"add {source}.csv or {source}.parquet to the data folder", file=source)
    lacking = [f"{table}.{column}" for table, columns in spec.optional_columns.items()
               if getattr(tables, table) is not None for column in columns
               if column not in getattr(tables, table).columns]
    attributes = {**spec.numeric_attributes, **spec.categorical_attributes}
    lacking += [f"clients.{column} (feature {name})" for column, name in attributes.items()
                if column not in tables.clients.columns]
    if lacking and missing == "stop":
        raise GateStop(f"the model needs column(s) the data lacks: {', '.join(lacking)}; add them, or retrain on "
                       f"this data", count=len(lacking))
    if lacking:
        log.warning("the model was trained with column(s) the data lacks, their features read as missing: %s",
                    ", ".join(lacking))


def build_at(tables: Tables, cutoff: pd.Timestamp, spec: FeatureSpec, clients_mask: np.ndarray | None = None
             ) -> pd.DataFrame:
    """Features of the clients active at `cutoff` (or of `clients_mask` rows), from data known then."""
    known = cutoffs.as_of(tables, cutoff)
    active = cutoffs.active_mask(tables.clients, tables.churn, cutoff) if clients_mask is None else clients_mask
    known = known.replace(clients=tables.clients[active])
    parts = [build(known, cutoff, spec) for build in BUILDERS]
    frame = pd.concat(parts, axis=1)
    frame.insert(0, "cutoff", pd.Timestamp(cutoff))
    return frame


def fit_spec(tables: Tables, config: FeaturesConfig, levels: EventLevels | None = None) -> FeatureSpec:
    """The spec learnt from the training tables, complete: its feature order is the declared
    features' (the builders' columns), which depends on no row."""
    spec = learn_spec(tables, config, levels)
    return replace(spec, feature_names=tuple(f.name for f in declare(spec)))


def build_features(tables: Tables, cutoff_dates: Iterable[pd.Timestamp], spec: FeatureSpec,
                   missing: str = "warn") -> pd.DataFrame:
    """One row per (client active at T, T): columns client_id, cutoff, then spec.feature_names.

    Rows follow the spec's feature order, so a feature the data cannot provide reads as missing,
    with a warning naming it, or (`missing="stop"`) stops with a `GateStop` naming it.
    """
    if not spec.feature_names:
        raise ValueError("the spec has no feature order: make it with features.fit_spec")
    check_sources(tables, spec, missing)
    frames = [build_at(tables, pd.Timestamp(t), spec) for t in cutoff_dates]
    if not frames:
        raise ValueError("build_features needs at least one cutoff")
    frame = pd.concat(frames).reset_index()
    lacking = [c for c in spec.feature_names if c not in frame.columns]
    if lacking:
        names = ", ".join(lacking[:10]) + (" ..." if len(lacking) > 10 else "")
        if missing == "stop":
            raise GateStop(f"the data cannot provide {len(lacking)} feature(s) the model needs: {names}; add the "
                           f"column(s) they come from, or retrain on this data", count=len(lacking))
        log.warning("the data cannot provide %d feature(s) the model uses, read as missing: %s", len(lacking), names)
    features = frame.reindex(columns=list(spec.feature_names)).astype(np.float32)
    return pd.concat([frame[list(KEY_COLUMNS)], features], axis=1)


def label_frame(tables: Tables, cutoff_dates: Iterable[pd.Timestamp], horizon_days: int) -> pd.DataFrame:
    """client_id, cutoff, label for every client active at each cutoff (the contract's label)."""
    frames = []
    for t in cutoff_dates:
        t = pd.Timestamp(t)
        active = tables.clients[cutoffs.active_mask(tables.clients, tables.churn, t)]
        frames.append(pd.DataFrame({"client_id": active["client_id"].astype(str).to_numpy(), "cutoff": t,
                                    "label": cutoffs.labels(active, tables.churn, t, horizon_days)}))
    return pd.concat(frames, ignore_index=True)


def training_rows(tables: Tables, cutoff_dates: Iterable[pd.Timestamp], spec: FeatureSpec,
                  horizon_days: int) -> pd.DataFrame:
    """Features plus label for every (active client, cutoff): the same call as scoring, with labels."""
    cutoff_dates = [pd.Timestamp(t) for t in cutoff_dates]
    if not cutoff_dates:
        raise ValueError("training_rows needs at least one cutoff")
    rows = build_features(tables, cutoff_dates, spec)
    labels = label_frame(tables, cutoff_dates, horizon_days)
    # both frames list the active clients of each cutoff in the clients table's order
    if not (rows["client_id"].to_numpy() == labels["client_id"].to_numpy()).all():
        raise AssertionError("feature and label rows are out of step")
    return rows.assign(label=labels["label"].to_numpy())
