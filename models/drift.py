"""Drift of tonight's rows against the training reference, by PSI (population stability index).

At training, `reference_profiles` learns fixed bins per column and the reference share of each.
At scoring, `counts` (or a `DriftCounter`) histograms each hash partition into those same bins;
the integer counts of partitions simply add up, and `assess` turns the totals into PSI per
column, a status and the stop decision. Pure: frames and arrays in, numbers and tables out.

Bin layout of a `Profile` (both kinds have `len(edges) + 2` proportions):

- numeric: `edges` are interior cut points e1 < ... < ek; bins are (-inf, e1], (e1, e2], ...,
  (ek, +inf), then missing. Right-closed, so a value tied at a quantile falls in the bin below
  it, with the rest of its tie.
- discrete: `edges` are the sorted distinct values seen at training; one bin per value, then
  "other" (a value not seen at training), then missing.

Missing is NaN (and None or pd.NA, read as NaN); it is always the last bin.

A few rows drift by chance: `noise_psi` is the PSI a sample of that many rows drawn from the
reference itself stays under 99 times in 100 (in 10 equal bins: 0.78 for 64 rows, where an empty bin
becomes likely, 0.24 for 100, 0.12 for 200, 0.02 for 1,000). A column is "warn" or "stop" only above
both its threshold and that level; above a threshold but within the noise it is "noise", which never
stops a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

SCORE_COLUMN = "churn_probability"
STATUSES = ("ok", "noise", "warn", "stop")
NOISE_QUANTILE = 0.99  # how often a sample of the reference itself stays under noise_psi
NOISE_DRAWS = 2000     # samples drawn to find that level (a fixed seed: the same report every run)
_PROFILE_KEYS = {"kind", "edges", "proportions"}


class DriftConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    # quantile bins of a numeric reference column; a column with no more distinct values is discrete
    bins: int = Field(10, ge=2, le=100)
    # PSI above which a column is a warning, and above which the gate may stop the run
    warn_psi: float = Field(0.10, gt=0)
    stop_psi: float = Field(0.25, gt=0)
    # score: the score's PSI above stop_psi stops; any: the score or any feature; never: report only
    stop_on: Literal["score", "any", "never"] = "score"

    @model_validator(mode="after")
    def _ordered(self) -> DriftConfig:
        if self.warn_psi >= self.stop_psi:
            raise ValueError("warn_psi must be below stop_psi")
        return self


@dataclass(frozen=True)
class Profile:
    """The reference histogram of one column; see the module docstring for the bin layout."""

    kind: Literal["numeric", "discrete"]
    edges: tuple[float, ...]
    proportions: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.kind not in ("numeric", "discrete"):
            raise ValueError(f"kind must be 'numeric' or 'discrete', not {self.kind!r}")
        edges = np.asarray(self.edges, dtype=float)
        if np.isnan(edges).any() or (np.diff(edges) <= 0).any():
            raise ValueError("edges must be sorted, unique and not missing")
        if len(self.proportions) != len(self.edges) + 2:
            raise ValueError(f"a {self.kind} profile with {len(self.edges)} edges needs "
                             f"{len(self.edges) + 2} proportions, not {len(self.proportions)}")
        shares = np.asarray(self.proportions, dtype=float)
        if (shares < 0).any() or not np.isclose(shares.sum(), 1.0):
            raise ValueError("proportions must be non-negative and sum to 1")

    @property
    def n_bins(self) -> int:
        """Bins including "other" (discrete) and missing: the length of a counts array."""
        return len(self.proportions)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "edges": [float(e) for e in self.edges],
                "proportions": [float(p) for p in self.proportions]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Profile:
        if set(d) != _PROFILE_KEYS:
            raise ValueError(f"a profile has keys {sorted(_PROFILE_KEYS)}, not {sorted(d)}")
        return cls(kind=d["kind"], edges=tuple(float(e) for e in d["edges"]),
                   proportions=tuple(float(p) for p in d["proportions"]))


def _as_float(values: Any) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def counts(values: np.ndarray, profile: Profile) -> np.ndarray:
    """Rows per bin of `profile` (int64, missing last). Counts of partitions add up."""
    x = _as_float(values).ravel()
    missing = np.isnan(x)
    present = x[~missing]
    edges = np.asarray(profile.edges, dtype=float)
    if profile.kind == "numeric":
        # side="left": a value equal to an edge belongs to the bin that edge closes
        which = np.searchsorted(edges, present, side="left")
    else:
        position = np.searchsorted(edges, present, side="left")
        inside = np.minimum(position, max(len(edges) - 1, 0))
        seen = (position < len(edges)) & (edges[inside] == present) if len(edges) else np.zeros(len(present), bool)
        which = np.where(seen, position, len(edges))  # len(edges) is the "other" bin
    result = np.bincount(which, minlength=profile.n_bins - 1).astype(np.int64)
    return np.append(result, np.int64(missing.sum()))


def _numeric_edges(present: np.ndarray, bins: int) -> np.ndarray:
    # "lower" quantiles are observed values, so with right-closed bins no reference bin is empty;
    # an edge at the maximum would leave the top bin empty, so it goes
    cuts = np.unique(np.quantile(present, np.arange(1, bins) / bins, method="lower"))
    return cuts[cuts < present.max()]


def reference_profiles(frame: pd.DataFrame, columns: list[str], bins: int = 10,
                       max_discrete: int | None = None) -> dict[str, Profile]:
    """A profile per column, learnt from `frame` alone (the training reference).

    A column with at most `max_discrete` distinct non-missing values (default: `bins`) is
    discrete; the others get up to `bins` quantile bins, fewer when quantiles coincide.
    """
    if bins < 2:
        raise ValueError("bins must be at least 2")
    if len(frame) == 0:
        raise ValueError("the reference frame has no rows")
    absent = [c for c in columns if c not in frame]
    if absent:
        raise ValueError(f"columns not in the reference frame: {absent}")
    limit = bins if max_discrete is None else max_discrete
    profiles = {}
    for column in columns:
        try:
            x = _as_float(frame[column])
        except (TypeError, ValueError) as error:
            raise ValueError(f"column {column!r} is not numeric: {error}") from None
        present = x[~np.isnan(x)]
        distinct = np.unique(present)
        if len(distinct) <= limit:
            kind, edges = "discrete", distinct
        else:
            kind, edges = "numeric", _numeric_edges(present, bins)
        layout = Profile(kind, tuple(float(e) for e in edges), (0.0,) * (len(edges) + 1) + (1.0,))
        tally = counts(x, layout)
        profiles[column] = Profile(kind, layout.edges, tuple(float(s) for s in tally / tally.sum()))
    return profiles


def psi(profile: Profile, counts: np.ndarray, epsilon: float = 1e-4) -> float:
    """sum((a - e) * ln(a / e)) over all bins, missing included, with both shares floored at
    `epsilon` so an empty bin costs a large but finite amount. NaN when `counts` holds no rows."""
    tally = np.asarray(counts, dtype=float)
    if tally.shape != (profile.n_bins,):
        raise ValueError(f"counts must have {profile.n_bins} bins for this profile, not {tally.shape}")
    total = tally.sum()
    if total == 0:
        return float("nan")
    return float(_psi_of_shares(tally / total, np.asarray(profile.proportions, dtype=float), epsilon))


def _psi_of_shares(actual: np.ndarray, expected: np.ndarray, epsilon: float) -> np.ndarray:
    """PSI of shares against the expected ones, along the last axis (one value per row of `actual`)."""
    actual, expected = np.maximum(actual, epsilon), np.maximum(expected, epsilon)
    return np.sum((actual - expected) * np.log(actual / expected), axis=-1)


def noise_psi(profile: Profile, rows: int, epsilon: float = 1e-4) -> float:
    """The PSI that `rows` rows drawn from the reference itself stay under NOISE_QUANTILE of the time:
    the same formula as `psi` on NOISE_DRAWS multinomial samples. NaN for no rows."""
    if rows <= 0:
        return float("nan")
    expected = np.asarray(profile.proportions, dtype=float)
    samples = np.random.default_rng(0).multinomial(rows, expected / expected.sum(), size=NOISE_DRAWS)
    return float(np.quantile(_psi_of_shares(samples / rows, expected, epsilon), NOISE_QUANTILE))


def _status(value: float, noise: float, config: DriftConfig) -> str:
    if not value > config.warn_psi:
        return "ok"  # also for NaN: no rows to compare is not drift; the messages say so
    if not value > noise:
        return "noise"  # above a threshold, but as far as a sample this small moves by chance
    return "stop" if value > config.stop_psi else "warn"


@dataclass(frozen=True)
class DriftReport:
    """PSI per column (sorted worst first), whether the gate stops the run, and why in words."""

    table: pd.DataFrame
    stop: bool
    messages: list[str]


def assess(profiles: dict[str, Profile], accumulated: dict[str, np.ndarray], config: DriftConfig,
           score_column: str = SCORE_COLUMN) -> DriftReport:
    """Compare accumulated counts with their profiles: one table row per column, score included.

    A column's status says where its PSI lies against `warn_psi` and `stop_psi` (strictly
    above); whether a "stop" stops the run is `config.stop_on`'s call.
    """
    if score_column not in profiles:
        raise ValueError(f"no profile for the score column {score_column!r}")
    if set(profiles) != set(accumulated):
        raise ValueError(f"counts without a profile: {sorted(set(accumulated) - set(profiles))}; "
                         f"profiles without counts: {sorted(set(profiles) - set(accumulated))}")
    rows = []
    for column, profile in profiles.items():
        tally = np.asarray(accumulated[column])
        value = psi(profile, tally)
        total = int(tally.sum())
        noise = noise_psi(profile, total)
        rows.append({"column": column, "psi": value, "status": _status(value, noise, config),
                     "reference_missing_share": profile.proportions[-1],
                     "current_missing_share": tally[-1] / total if total else float("nan"), "rows": total,
                     "noise_psi": noise})
    table = (pd.DataFrame(rows).sort_values(["psi", "column"], ascending=[False, True], na_position="last")
             .reset_index(drop=True))

    stopping = table["status"] == "stop"
    if config.stop_on == "score":
        stop = bool((stopping & (table["column"] == score_column)).any())
    elif config.stop_on == "any":
        stop = bool(stopping.any())
    else:
        stop = False
    return DriftReport(table=table, stop=stop, messages=_messages(table, config, score_column, stop))


MAX_NAMED = 5  # features named per message; the report holds them all


def _messages(table: pd.DataFrame, config: DriftConfig, score_column: str, stop: bool) -> list[str]:
    """A few plain lines: the score first, then features per threshold, worst named first."""
    lines = []
    score = table[table["column"] == score_column]
    features = table[table["column"] != score_column]
    for row in score.itertuples(index=False):
        if row.status in ("warn", "stop"):
            limit = "stop_psi" if row.status == "stop" else "warn_psi"
            lines.append(f"score PSI {row.psi:.2f} above {limit} {getattr(config, limit):.2f}")
        elif row.status == "noise":
            lines.append(f"score PSI {row.psi:.2f} within the sampling noise of {row.rows} rows (a sample of the "
                         f"training reference itself reaches {row.noise_psi:.2f} one time in 100): not drift")
        elif np.isnan(row.psi):
            lines.append("score: no rows counted, PSI not computed")
    for status, limit in (("stop", "stop_psi"), ("warn", "warn_psi")):
        above = features[features["status"] == status]
        if len(above):
            named = ", ".join(f"{r.column} {r.psi:.2f}" for r in above.head(MAX_NAMED).itertuples(index=False))
            more = f" and {len(above) - MAX_NAMED} more" if len(above) > MAX_NAMED else ""
            lines.append(f"{len(above)} feature(s) PSI above {limit} {getattr(config, limit):.2f}: {named}{more}")
    noisy = features[features["status"] == "noise"]
    if len(noisy):
        lines.append(f"{len(noisy)} feature(s) PSI above warn_psi {config.warn_psi:.2f} but within the sampling "
                     f"noise of {int(noisy['rows'].max())} rows: not drift")
    unknown = features[features["psi"].isna()]
    if len(unknown):
        lines.append(f"{len(unknown)} feature(s) with no rows counted: {', '.join(unknown['column'].head(MAX_NAMED))}")
    if not any(table["status"] != "ok"):
        worst = table.iloc[0]
        if not np.isnan(worst["psi"]):
            lines.insert(0, f"no drift above warn_psi {config.warn_psi:.2f}; worst {worst['column']} "
                            f"PSI {worst['psi']:.2f}")
    if stop:
        lines.append(f"run stopped (stop_on={config.stop_on!r})")
    elif (table["status"] == "stop").any():
        lines.append(f"not stopping: stop_on={config.stop_on!r}")
    return lines


class DriftCounter:
    """Adds up counts partition by partition: call `add` once per scored frame, read `counts`."""

    def __init__(self, profiles: dict[str, Profile]) -> None:
        self.profiles = profiles
        self.counts = {column: np.zeros(p.n_bins, dtype=np.int64) for column, p in profiles.items()}

    def add(self, frame: pd.DataFrame) -> DriftCounter:
        """Counts `frame`'s rows; a profiled column the frame lacks counts every row as missing."""
        for column, profile in self.profiles.items():
            if column in frame:
                new = counts(frame[column], profile)
            else:
                new = np.zeros(profile.n_bins, dtype=np.int64)
                new[-1] = len(frame)
            self.counts[column] = self.counts[column] + new
        return self


def profiles_of(stored: dict | None) -> dict[str, Profile]:
    """Profiles from their stored form (`Profile.to_dict` per column); empty when none is stored."""
    return {column: Profile.from_dict(d) for column, d in (stored or {}).items()}


def reference_of(frame: pd.DataFrame, columns: list[str], score: np.ndarray, bins: int = 10) -> dict[str, dict]:
    """The stored form of a training reference: every feature column plus the score."""
    profiles = reference_profiles(frame[columns].assign(**{SCORE_COLUMN: np.asarray(score, dtype=float)}),
                                  [*columns, SCORE_COLUMN], bins=bins)
    return {column: profile.to_dict() for column, profile in profiles.items()}
