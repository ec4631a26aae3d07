"""Plain-language reasons from LightGBM's per-row contributions (`pred_contrib`), with the linear
part's terms joined to them where the model blends one in (models.linear).

Every sentence comes from the feature's declaration (`features.declarations`): its reason
template in English and Spanish, its family and its subject; the data's own names (event types,
channels) are read through the glossary (`features.wording`). No feature name is parsed here.

A reason is a fact a caller can say to the client and act on. A feature gives one only when
  - its contribution raises this client's risk,
  - it is behaviour, tickets or NPS: a static attribute (plan, contract, value, tenure) is never a
    reason but context (`client_context`),
  - its direction is declared and the client's value sits on the risky side of it: above the
    typical client's (the median of the latest training cutoff, `typical_values`) for a feature
    that raises the risk, below it for one that lowers it; a trend on the risky side of no change.
So "errors down 60%" or "logins up 20%" never explain a risk, whatever the model made of them.
Contributions are computed only for the rows passed in: the exported ones.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import declared
from features.clients import TENURE
from features.declarations import FAMILIES, RAISES, UNKNOWN, Feature
from features.spec import FeatureSpec
from features.surveys import GROUP_WORDS, LAST_SCORE, nps_group_names
from features.wording import DEFAULT_GLOSSARY, Glossary, label, say, term_fields
from models.forecasts import ActivityForecast
from models.linear import LinearPart

__all__ = ["FAMILIES", "Reason", "client_context", "contributions", "on_risky_side", "reason_text", "render",
           "top_reasons", "feature_label", "typical_values"]

_DIRECTION = {"en": ("down", "up"), "es": ("baja", "sube")}
# where a unit has a natural "no change", the risky side is measured from it, not from the typical client
_NEUTRAL = {"change": 0.0, "points": 0.0, "rate": 1.0, "flag": 0.0}
_PERCENT_UNITS = ("change", "rate", "share")
CONTEXT_ATTRIBUTES = 3  # client columns a call sheet row shows as context, besides tenure
CONTEXT_SEPARATOR = "; "


@dataclass(frozen=True)
class Reason:
    feature: str
    family: str
    contribution: float
    text: str


def contributions(booster: lgb.Booster, features: pd.DataFrame, spec: FeatureSpec,
                  linear: LinearPart | None = None, forecast: ActivityForecast | None = None) -> np.ndarray:
    """Per-row, per-feature contributions to the log-odds (the last column, the bias, dropped); with
    a linear part, `(1 - weight) x` the trees' plus `weight x` its terms, as the blend adds them. With
    activity forecasts, each forecast's contribution is said as its source count's (models.forecasts):
    "logins in the last 30 days" is the fact behind what the model expects of the next 30."""
    names = list(spec.feature_names) + ([] if forecast is None else list(forecast.names))
    if not len(features):
        return np.zeros((0, len(spec.feature_names)))
    frame = features if forecast is None else forecast.augment(features)
    matrix = frame.reindex(columns=names).to_numpy(dtype=np.float32)
    # TreeSHAP is the costly part of a list (a tree walk per row and feature): use every core
    values = booster.predict(matrix, pred_contrib=True, num_threads=os.cpu_count() or 1)[:, :-1]
    if linear is not None:
        values = (1.0 - linear.weight) * values + linear.weight * linear.terms(frame)
    return values if forecast is None else forecast.fold_onto_sources(values, list(spec.feature_names))


def typical_values(frame: pd.DataFrame, names: list[str]) -> dict[str, float | None]:
    """The typical client: each feature's median over `frame` (missing values skipped), None where
    no value is known. Stored with the model; the risky side of a reason is measured from it."""
    out: dict[str, float | None] = {}
    for name in names:
        values = pd.to_numeric(frame[name], errors="coerce") if name in frame else pd.Series(dtype=float)
        values = values[np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))]
        out[name] = float(values.median()) if len(values) else None
    return out


def _quoted(feature: Feature, value: float) -> float:
    """The value as its sentence quotes it (a percentage rounded to a whole one, else one decimal)."""
    return round(value * 100) / 100 if feature.unit in _PERCENT_UNITS else round(value, 1)


def on_risky_side(feature: Feature, value: float, typical: Mapping[str, float | None] | None) -> bool:
    """Whether `value` is a reason to worry by the feature's declared direction (module docstring).

    `typical` None (a model stored before typical values were kept) checks only the features with
    a natural "no change"; a feature without a typical value is never on a risky side.
    """
    if not feature.actionable or feature.direction == UNKNOWN or feature.reason is None:
        return False
    if value is None or math.isnan(value):  # "never": no activity recorded is the far end of "days without"
        return feature.direction == RAISES and feature.when_missing is not None
    if not math.isfinite(value):
        return False
    reference = _NEUTRAL.get(feature.unit)
    if reference is None:
        if typical is None:
            return True
        reference = typical.get(feature.name)
        if reference is None or not math.isfinite(reference):
            return False
    quoted = _quoted(feature, value)
    return quoted > reference if feature.direction == RAISES else quoted < reference


def reason_text(feature: Feature, value: float, score: float, lang: str,
                glossary: Glossary = DEFAULT_GLOSSARY) -> str | None:
    """The feature's sentence for one client in `lang`, or None when no sentence fits."""
    terms = term_fields(feature, lang, glossary)
    if value is None or math.isnan(value):
        return None if feature.when_missing is None else say(feature.when_missing(lang), lang, **terms)
    if feature.reason is None:
        return None
    if feature.unit in ("change", "rate") and not np.isfinite(value):
        return None
    if feature.unit == "flag" and value == 0:
        return None  # "never answered" is a reason only for a client who never answered
    levels = feature.levels or ()
    has_score = score is not None and not pd.isna(score)
    down, up = _DIRECTION[lang]
    rounded = round(float(value), 1)
    fields = {
        "v": rounded, "abs_v": abs(rounded), "value": float(value),
        "pct": round(value * 100), "abs_pct": abs(round(value * 100)), "dir": down if value < 0 else up,
        "score": float(score) if has_score else "",
        "group": GROUP_WORDS[str(nps_group_names(np.array([score]))[0])](lang) if has_score else "",
        "level": levels[int(value)] if 0 <= int(value) < len(levels) else "",
        **terms,
    }
    return say(feature.reason(lang), lang, **fields)


def render(feature: str, value: float, row: pd.Series, spec: FeatureSpec, lang: str,
           glossary: Glossary = DEFAULT_GLOSSARY) -> tuple[str, str] | None:
    """(family, text) for one feature of one client, or None when no sentence fits."""
    declaration = declared(spec).get(feature)
    if declaration is None:
        return None
    text = reason_text(declaration, value, row.get(LAST_SCORE.name, np.nan), lang, glossary)
    return None if text is None else (declaration.family, text)


def top_reasons(contrib: np.ndarray, features: pd.DataFrame, spec: FeatureSpec, lang: str = "en",
                k: int = 3, typical: Mapping[str, float | None] | None = None,
                glossary: Glossary = DEFAULT_GLOSSARY) -> list[list[Reason]]:
    """Up to k reasons per row, strongest first: features that push the risk up from their risky
    side (`on_risky_side`, measured from `typical`), never a static attribute.

    Two reasons never say the same thing about the same subject (a client with few logins over
    7, 30 and 90 days gets one login reason, not three).
    """
    declarations = list(declared(spec).values())
    names = [f.name for f in declarations]
    values = features.reindex(columns=names).to_numpy(dtype=float)
    scores = features[LAST_SCORE.name].to_numpy(dtype=float) if LAST_SCORE.name in features else \
        np.full(len(features), np.nan)
    # candidates per row: positive contributions, strongest first (ties by feature order)
    order = np.argsort(-contrib, axis=1, kind="stable") if len(contrib) else np.zeros((0, len(names)), int)
    out: list[list[Reason]] = []
    for i in range(len(values)):
        reasons: list[Reason] = []
        seen: set[str] = set()
        for j in order[i]:
            if contrib[i, j] <= 0 or len(reasons) == k:
                break
            feature = declarations[j]
            if feature.subject in seen or not on_risky_side(feature, values[i, j], typical):
                continue
            text = reason_text(feature, values[i, j], scores[i], lang, glossary)
            if text is None:
                continue
            seen.add(feature.subject)
            reasons.append(Reason(feature.name, feature.family, float(contrib[i, j]), text))
        out.append(reasons)
    return out


def client_context(features: pd.DataFrame, spec: FeatureSpec, importance: np.ndarray | None, lang: str = "en",
                   glossary: Glossary = DEFAULT_GLOSSARY, k: int = CONTEXT_ATTRIBUTES) -> list[str]:
    """Per row, the static facts a caller should know before dialling: tenure, then the `k` client
    columns the model weighs most (`importance`, one number per feature of the spec, e.g. the
    booster's total gain). A model property, so a client's context never depends on who else is listed."""
    declarations = list(declared(spec).values())
    attributes = [j for j, f in enumerate(declarations) if f.source == "clients" and f.family == "profile"]
    if importance is not None and attributes:
        weight = np.asarray(importance, dtype=float)[attributes]
        attributes = [attributes[i] for i in np.argsort(-weight, kind="stable")[:k] if weight[i] > 0]
    else:
        attributes = attributes[:k]
    shown = [f for f in declarations if f.name == TENURE.name] + [declarations[j] for j in attributes]
    values = features.reindex(columns=[f.name for f in shown]).to_numpy(dtype=float)
    out = []
    for row in values:
        parts = (reason_text(f, v, math.nan, lang, glossary) for f, v in zip(shown, row) if not math.isnan(v))
        out.append(CONTEXT_SEPARATOR.join(p for p in parts if p))
    return out


def feature_label(feature: str, spec: FeatureSpec, lang: str = "en", glossary: Glossary = DEFAULT_GLOSSARY) -> str:
    """What a feature measures, in words, without any client's numbers."""
    declaration = declared(spec).get(feature)
    return feature if declaration is None else label(declaration, lang, glossary)
