"""Plain-language reasons from LightGBM's per-row contributions (`pred_contrib`).

Every reason template lives here, in English and Spanish, keyed by a pattern on the feature
name (event types and channels come from the data, so patterns capture them). A reason is shown
only when its contribution raises the client's risk, and it quotes the client's own number.
Contributions are computed only for the rows passed in: the exported ones.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.spec import FeatureSpec

FAMILIES = ("activity", "nps", "support", "tenure", "value", "profile")


@dataclass(frozen=True)
class Template:
    pattern: str
    family: str
    en: str
    es: str
    # text when the feature is missing (None: a missing value gives no reason)
    missing_en: str | None = None
    missing_es: str | None = None
    # what the feature measures, without the client's numbers (summaries, definitions)
    label_en: str = ""
    label_es: str = ""


# {type}: the event type / channel as written in the data; {v} the value; {pct} a percentage;
# {abs_pct} its absolute value; {w} the window in days; {dir_en}/{dir_es} up or down.
TEMPLATES: tuple[Template, ...] = (
    Template(r"events_change_30d_vs_previous_30d", "activity",
             "activity {dir_en} {abs_pct}% vs the previous 30 days",
             "actividad {dir_es} un {abs_pct}% frente a los 30 días anteriores",
             label_en="activity trend vs previous 30 days",
             label_es="tendencia de actividad frente a 30 días anteriores"),
    Template(r"(?P<type>.+)_change_30d_vs_previous_30d", "activity",
             "{type} {dir_en} {abs_pct}% vs the previous 30 days",
             "{type}: {dir_es} un {abs_pct}% frente a los 30 días anteriores",
             label_en="{type} trend vs previous 30 days", label_es="tendencia de {type} frente a 30 días anteriores"),
    Template(r"events_30d_vs_(?P<w>\d+)d_rate", "activity",
             "activity at {pct}% of its {w}-day pace", "actividad al {pct}% de su ritmo de {w} días",
             label_en="activity vs its {w}-day pace", label_es="actividad frente a su ritmo de {w} días"),
    Template(r"(?P<type>.+)_30d_vs_(?P<w>\d+)d_rate", "activity",
             "{type} at {pct}% of its {w}-day pace", "{type} al {pct}% de su ritmo de {w} días",
             label_en="{type} vs its {w}-day pace", label_es="{type} frente a su ritmo de {w} días"),
    Template(r"events_count_(?P<w>\d+)d", "activity",
             "{v} events in the last {w} days", "{v} eventos en los últimos {w} días",
             label_en="events in {w} days", label_es="eventos en {w} días"),
    Template(r"active_days_(?P<w>\d+)d", "activity",
             "active on {v} of the last {w} days", "activo {v} de los últimos {w} días",
             label_en="active days in {w} days", label_es="días activos en {w} días"),
    Template(r"days_since_last_event", "activity",
             "no activity for {v} days", "sin actividad desde hace {v} días",
             "no activity recorded", "sin actividad registrada",
             label_en="days without activity", label_es="días sin actividad"),
    Template(r"channel_(?P<type>.+)_share_(?P<w>\d+)d", "activity",
             "{pct}% of activity via {type} in {w} days", "{pct}% de la actividad por {type} en {w} días",
             label_en="share of activity via {type}", label_es="cuota de actividad por {type}"),
    Template(r"(?P<type>.+)_value_sum_(?P<w>\d+)d", "activity",
             "{type} value {v} in {w} days", "valor de {type}: {v} en {w} días",
             label_en="{type} value in {w} days", label_es="valor de {type} en {w} días"),
    Template(r"(?P<type>.+)_share_(?P<w>\d+)d", "activity",
             "{type} is {pct}% of activity in {w} days", "{type}: {pct}% de la actividad en {w} días",
             label_en="{type} share of activity", label_es="cuota de {type} en la actividad"),
    Template(r"(?P<type>.+)_count_(?P<w>\d+)d", "activity",
             "{v} {type} events in the last {w} days", "{v} eventos {type} en los últimos {w} días",
             label_en="{type} events in {w} days", label_es="eventos {type} en {w} días"),
    Template(r"nps_last_score|nps_last_group", "nps",
             "last NPS answer {score} ({group_en})", "última respuesta NPS {score} ({group_es})",
             "no NPS answer yet", "aún sin respuesta NPS",
             label_en="last NPS answer", label_es="última respuesta NPS"),
    Template(r"nps_score_change_from_previous", "nps",
             "NPS {dir_en} {abs_v} points since the previous answer",
             "NPS {dir_es} {abs_v} puntos desde la respuesta anterior",
             label_en="NPS change since previous answer", label_es="cambio de NPS desde la respuesta anterior"),
    Template(r"days_since_last_nps_answer", "nps",
             "no NPS answer for {v} days", "sin respuesta NPS desde hace {v} días",
             "no NPS answer yet", "aún sin respuesta NPS",
             label_en="days since last NPS answer", label_es="días desde la última respuesta NPS"),
    Template(r"nps_detractor_answer_share", "nps",
             "{pct}% of NPS answers were detractor scores", "{pct}% de respuestas NPS de detractor",
             label_en="share of detractor NPS answers", label_es="cuota de respuestas NPS de detractor"),
    Template(r"nps_mean_score", "nps", "average NPS score {v}", "puntuación NPS media {v}",
             "no NPS answer yet", "aún sin respuesta NPS",
             label_en="average NPS score", label_es="puntuación NPS media"),
    Template(r"nps_no_answer_yet", "nps", "never answered an NPS survey", "nunca ha respondido la encuesta NPS",
             label_en="no NPS answer yet", label_es="sin respuesta NPS"),
    Template(r"nps_answers_count", "nps", "{v} NPS answers", "{v} respuestas NPS",
             label_en="number of NPS answers", label_es="número de respuestas NPS"),
    Template(r"tickets_open", "support", "{v} tickets open", "{v} tickets abiertos",
             label_en="open tickets", label_es="tickets abiertos"),
    Template(r"tickets_unanswered", "support", "{v} tickets without a first response",
             "{v} tickets sin primera respuesta",
             label_en="tickets without first response", label_es="tickets sin primera respuesta"),
    Template(r"tickets_opened_(?P<w>\d+)d", "support", "{v} tickets opened in {w} days",
             "{v} tickets abiertos en {w} días",
             label_en="tickets opened in {w} days", label_es="tickets abiertos en {w} días"),
    Template(r"high_priority_ticket_share_(?P<w>\d+)d", "support",
             "{pct}% of tickets in {w} days high priority", "{pct}% de tickets de prioridad alta en {w} días",
             label_en="share of high-priority tickets", label_es="cuota de tickets de prioridad alta"),
    Template(r"median_first_response_hours_(?P<w>\d+)d", "support",
             "first response takes {v} h (median, {w} days)", "primera respuesta en {v} h (mediana, {w} días)",
             label_en="median first-response time", label_es="mediana del tiempo de primera respuesta"),
    Template(r"first_response_sla_breaches_(?P<w>\d+)d", "support",
             "{v} tickets answered past the SLA in {w} days", "{v} tickets respondidos fuera de SLA en {w} días",
             label_en="first responses past the SLA", label_es="primeras respuestas fuera de SLA"),
    Template(r"resolution_sla_breaches_(?P<w>\d+)d", "support",
             "{v} tickets resolved past the SLA in {w} days", "{v} tickets resueltos fuera de SLA en {w} días",
             label_en="resolutions past the SLA", label_es="resoluciones fuera de SLA"),
    Template(r"tickets_reopened_(?P<w>\d+)d", "support", "{v} tickets reopened in {w} days",
             "{v} tickets reabiertos en {w} días",
             label_en="reopened tickets", label_es="tickets reabiertos"),
    Template(r"last_ticket_satisfaction", "support", "last ticket rated {v}/5", "último ticket valorado {v}/5",
             label_en="last ticket satisfaction", label_es="satisfacción del último ticket"),
    Template(r"days_since_last_ticket", "support", "last ticket {v} days ago", "último ticket hace {v} días",
             label_en="days since last ticket", label_es="días desde el último ticket"),
    Template(r"tenure_days", "tenure", "client for {v} days", "cliente desde hace {v} días",
             label_en="tenure (days since signup)", label_es="antigüedad (días desde el alta)"),
    Template(r"monthly_value", "value", "monthly value {v}", "valor mensual {v}",
             label_en="monthly value", label_es="valor mensual"),
)
_COMPILED = tuple((re.compile(f"^(?:{t.pattern})$"), t) for t in TEMPLATES)
_GROUPS = {"en": ("detractor", "passive", "promoter"), "es": ("detractor", "pasivo", "promotor")}
_DIRECTION = {"en": ("down", "up"), "es": ("baja", "sube")}


@dataclass(frozen=True)
class Reason:
    feature: str
    family: str
    contribution: float
    text: str


def contributions(booster: lgb.Booster, features: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Per-row, per-feature contributions to the log-odds (the last column, the bias, dropped)."""
    matrix = features.reindex(columns=list(spec.feature_names)).to_numpy(dtype=np.float32)
    if not len(matrix):
        return np.zeros((0, len(spec.feature_names)))
    # TreeSHAP is the costly part of a list (a tree walk per row and feature): use every core
    return booster.predict(matrix, pred_contrib=True, num_threads=os.cpu_count() or 1)[:, :-1]


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _names(spec: FeatureSpec) -> dict[str, str]:
    """Column-name slug -> the name as written in the data (event types, channels)."""
    return {**dict(zip(spec.event_type_names, spec.event_types)), **dict(zip(spec.channel_names, spec.channels))}


@dataclass(frozen=True)
class _Resolved:
    """A feature's template (or attribute), found once per list rather than once per client."""

    family: str
    template: Template | None
    parts: dict
    subject_name: str
    attribute: str | None = None           # the clients column, for attribute features
    levels: tuple[str, ...] | None = None  # category levels, for categorical attributes


def _resolve(feature: str, spec: FeatureSpec) -> _Resolved | None:
    for column, name in spec.categorical_attributes.items():
        if name == feature:
            return _Resolved("profile", None, {}, "", column, spec.category_levels[name])
    for column, name in spec.numeric_attributes.items():
        if name == feature:
            return _Resolved("profile", None, {}, "", column)
    known = _names(spec)
    for regex, template in _COMPILED:
        match = regex.match(feature)
        if not match:
            continue
        parts = match.groupdict()
        if parts.get("type") is not None and parts["type"] not in known:
            continue  # e.g. high_priority_ticket_share_90d is not an event type's share
        return _Resolved(template.family, template, parts, known.get(parts.get("type") or "", ""))
    return None


def _format(resolved: _Resolved, feature: str, value: float, score: float, lang: str) -> str | None:
    missing = value is None or math.isnan(value)
    if resolved.template is None:  # a client attribute
        if missing:
            return None
        if resolved.levels is not None:
            return f"{resolved.attribute}: {resolved.levels[int(value)]}"
        return f"{resolved.attribute} = {_number(value)}"
    template = resolved.template
    if missing:
        return template.missing_en if lang == "en" else template.missing_es
    if ("_change_" in feature or "_vs_" in feature) and not np.isfinite(value):
        return None
    group = "" if pd.isna(score) else _GROUPS[lang][0 if score <= 6 else 1 if score <= 8 else 2]
    down, up = _DIRECTION[lang]
    pct = value * 100
    fields = {
        "type": resolved.subject_name, "w": resolved.parts.get("w", ""), "v": _number(round(value, 1)),
        "abs_v": _number(abs(round(value, 1))), "pct": f"{round(pct):,}", "abs_pct": f"{abs(round(pct)):,}",
        "dir_en": down if value < 0 else up, "dir_es": down if value < 0 else up,
        "score": "" if pd.isna(score) else _number(score), "group_en": group, "group_es": group,
    }
    return (template.en if lang == "en" else template.es).format(**fields)


def render(feature: str, value: float, row: pd.Series, spec: FeatureSpec, lang: str) -> tuple[str, str] | None:
    """(family, text) for one feature of one client, or None when no sentence fits."""
    resolved = _resolve(feature, spec)
    if resolved is None:
        return None
    text = _format(resolved, feature, value, row.get("nps_last_score", np.nan), lang)
    return None if text is None else (resolved.family, text)


def top_reasons(contrib: np.ndarray, features: pd.DataFrame, spec: FeatureSpec, lang: str = "en",
                k: int = 3) -> list[list[Reason]]:
    """Up to k reasons per row, strongest first; only features that push the risk up.

    Two reasons never say the same thing about the same subject (a client with few logins over
    7, 30 and 90 days gets one login reason, not three).
    """
    names = list(spec.feature_names)
    values = features.reindex(columns=names).to_numpy(dtype=float)
    scores = features["nps_last_score"].to_numpy(dtype=float) if "nps_last_score" in features else \
        np.full(len(features), np.nan)
    resolved = [_resolve(name, spec) for name in names]
    subjects = [_subject(name, spec) for name in names]
    # candidates per row: positive contributions, strongest first (ties by feature order)
    order = np.argsort(-contrib, axis=1, kind="stable") if len(contrib) else np.zeros((0, len(names)), int)
    out: list[list[Reason]] = []
    for i in range(len(values)):
        reasons: list[Reason] = []
        seen: set[str] = set()
        for j in order[i]:
            if contrib[i, j] <= 0 or len(reasons) == k:
                break
            if resolved[j] is None or subjects[j] in seen:
                continue
            text = _format(resolved[j], names[j], values[i, j], scores[i], lang)
            if text is None:
                continue
            seen.add(subjects[j])
            reasons.append(Reason(names[j], resolved[j].family, float(contrib[i, j]), text))
        out.append(reasons)
    return out


def _subject(feature: str, spec: FeatureSpec) -> str:
    """What a feature is about: its event type, channel, or otherwise its stem."""
    for slug in sorted(spec.event_type_names, key=len, reverse=True):
        if feature.startswith(f"{slug}_"):
            return f"event:{slug}"
    if feature.startswith("nps_") or feature.endswith("nps_answer"):
        return "nps"
    return re.sub(r"_\d+d$", "", feature)


def feature_label(feature: str, spec: FeatureSpec, lang: str = "en") -> str:
    """What a feature measures, in words, without any client's numbers."""
    resolved = _resolve(feature, spec)
    if resolved is None:
        return feature
    if resolved.template is None:
        kind = "category" if resolved.levels is not None else "value"
        return (f"clients column '{resolved.attribute}' ({kind})" if lang == "en"
                else f"columna de clientes '{resolved.attribute}' ({'categoría' if kind == 'category' else 'valor'})")
    label = resolved.template.label_en if lang == "en" else resolved.template.label_es
    return label.format(type=resolved.subject_name, w=resolved.parts.get("w", ""))


SOURCE_OF_FAMILY = {"activity": "events", "nps": "surveys", "support": "tickets", "tenure": "clients",
                    "value": "clients", "profile": "clients"}


def feature_catalogue(spec: FeatureSpec) -> pd.DataFrame:
    """Every feature of a spec: name, source table, window in days (if any), what it measures."""
    rows = []
    for name in spec.feature_names:
        resolved = _resolve(name, spec)
        family = resolved.family if resolved else "profile"
        window = re.search(r"_(\d+)d(?:_|$)", name)
        rows.append({"feature": name, "source": SOURCE_OF_FAMILY[family],
                     "window_days": int(window.group(1)) if window else None,
                     "meaning": feature_label(name, spec, "en")})
    return pd.DataFrame(rows)


def feature_catalogue_markdown(spec: FeatureSpec) -> str:
    table = feature_catalogue(spec)
    lines = ["| feature | source | window (days) | what it measures |", "|---|---|---:|---|"]
    lines += [f"| `{r.feature}` | {r.source} | {'' if pd.isna(r.window_days) else int(r.window_days)} | {r.meaning} |"
              for r in table.itertuples()]
    return "\n".join(lines) + "\n"
