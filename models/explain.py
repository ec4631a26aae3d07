"""Plain-language reasons from LightGBM's per-row contributions (`pred_contrib`), with the linear
part's terms joined to them where the model blends one in (models.linear).

Every sentence comes from the feature's declaration (`features.declarations`): its reason
template in English and Spanish, its family and its subject. No feature name is parsed here. A
reason is shown only when its contribution raises the client's risk, and it quotes the client's
own number. Contributions are computed only for the rows passed in: the exported ones.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import declared
from features.declarations import FAMILIES, Feature
from features.spec import FeatureSpec
from features.surveys import GROUP_WORDS, LAST_SCORE, nps_group_names
from models.linear import LinearPart

__all__ = ["FAMILIES", "Reason", "contributions", "reason_text", "render", "top_reasons", "feature_label"]

_DIRECTION = {"en": ("down", "up"), "es": ("baja", "sube")}


@dataclass(frozen=True)
class Reason:
    feature: str
    family: str
    contribution: float
    text: str


def contributions(booster: lgb.Booster, features: pd.DataFrame, spec: FeatureSpec,
                  linear: LinearPart | None = None) -> np.ndarray:
    """Per-row, per-feature contributions to the log-odds (the last column, the bias, dropped); with
    a linear part, `(1 - weight) x` the trees' plus `weight x` its terms, as the blend adds them."""
    matrix = features.reindex(columns=list(spec.feature_names)).to_numpy(dtype=np.float32)
    if not len(matrix):
        return np.zeros((0, len(spec.feature_names)))
    # TreeSHAP is the costly part of a list (a tree walk per row and feature): use every core
    trees = booster.predict(matrix, pred_contrib=True, num_threads=os.cpu_count() or 1)[:, :-1]
    if linear is None:
        return trees
    return (1.0 - linear.weight) * trees + linear.weight * linear.terms(features)


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def reason_text(feature: Feature, value: float, score: float, lang: str) -> str | None:
    """The feature's reason for one client in `lang`, or None when no sentence fits."""
    if value is None or math.isnan(value):
        return None if feature.when_missing is None else feature.when_missing(lang)
    if feature.reason is None:
        return None
    if feature.unit in ("change", "rate") and not np.isfinite(value):
        return None
    if feature.unit == "flag" and value == 0:
        return None  # "never answered" is a reason only for a client who never answered
    levels = feature.levels or ()
    has_score = not pd.isna(score)
    down, up = _DIRECTION[lang]
    pct = value * 100
    fields = {
        "v": _number(round(value, 1)), "abs_v": _number(abs(round(value, 1))), "value": _number(value),
        "pct": f"{round(pct):,}", "abs_pct": f"{abs(round(pct)):,}", "dir": down if value < 0 else up,
        "score": _number(score) if has_score else "",
        "group": GROUP_WORDS[str(nps_group_names(np.array([score]))[0])](lang) if has_score else "",
        "level": levels[int(value)] if 0 <= int(value) < len(levels) else "",
    }
    return feature.reason(lang).format(**fields)


def render(feature: str, value: float, row: pd.Series, spec: FeatureSpec, lang: str) -> tuple[str, str] | None:
    """(family, text) for one feature of one client, or None when no sentence fits."""
    declaration = declared(spec).get(feature)
    if declaration is None:
        return None
    text = reason_text(declaration, value, row.get(LAST_SCORE.name, np.nan), lang)
    return None if text is None else (declaration.family, text)


def top_reasons(contrib: np.ndarray, features: pd.DataFrame, spec: FeatureSpec, lang: str = "en",
                k: int = 3) -> list[list[Reason]]:
    """Up to k reasons per row, strongest first; only features that push the risk up.

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
            if feature.subject in seen:
                continue
            text = reason_text(feature, values[i, j], scores[i], lang)
            if text is None:
                continue
            seen.add(feature.subject)
            reasons.append(Reason(feature.name, feature.family, float(contrib[i, j]), text))
        out.append(reasons)
    return out


def feature_label(feature: str, spec: FeatureSpec, lang: str = "en") -> str:
    """What a feature measures, in words, without any client's numbers."""
    declaration = declared(spec).get(feature)
    return feature if declaration is None else declaration.label(lang)
