"""The risk list a retention team acts on: who first, why, what to do, and what changed.

Pure: scored features in, the list and its summary out. Categorical columns hold canonical
English codes (risk_band, nps_group, loyalty_stage, value_quadrant); reasons and actions are
already in the requested language. `pipeline.exports` translates headers and codes. The summary
is a `models.summary.ListSummary`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features import declared
from features.declarations import FAMILY_WORDS, HIGHER_VALUE_WORDS, Feature
from features.surveys import LAST_SCORE
from features.wording import DEFAULT_GLOSSARY, Glossary, label
from models.bundle import ModelBundle
from models.evaluation import EvaluationConfig, client_values, clients_at_capacity, profit_cut
from models.explain import Reason, client_context, contributions, top_reasons
from models.playbook import Playbook, assign_actions, client_facts
from models.segments import (
    LOYALTY_STAGES,
    RISK_BANDS,
    VALUE_QUADRANTS,
    SegmentsConfig,
    expected_value_at_risk,
    loyalty_stage,
    nps_group,
    portfolio_nps,
    risk_band,
    value_quadrant,
)
from models.summary import ActionCount, Changes, ListSummary, NpsMix, ReasonCount, ReasonFeature, SegmentCount

COLUMNS = ("client_id", "rank", "churn_probability", "risk_band", "monthly_value", "expected_value_at_risk",
           "nps_group", "loyalty_stage", "value_quadrant", "top_reasons", "client_context", "recommended_action",
           "previous_rank", "new_on_list", "on_list_since", "days_on_list", "model_version", "as_of")
REASON_SEPARATOR = "; "


@dataclass(frozen=True)
class ListOptions:
    sort: Literal["value", "probability"] = "value"
    capacity: float | None = None  # a count from 1, a share of the scored clients below 1, None: no limit
    lang: Literal["en", "es"] = "en"
    contact: EvaluationConfig | None = None  # the economics of a contact: the profit cut (None: no cut)
    glossary: Glossary = DEFAULT_GLOSSARY  # what the data's event types, channels and columns are called


@dataclass(frozen=True)
class Explained:
    """Per listed client, in list order: its reasons and the static facts shown beside them."""

    reasons: list[list[Reason]]
    context: list[str]

    @classmethod
    def none(cls, n: int) -> Explained:
        return cls([[] for _ in range(n)], [""] * n)


@dataclass(frozen=True)
class Cut:
    """Where the call sheet ends, and why."""

    scored: int
    capacity: int       # clients the team can reach
    profitable: int     # clients up to the last one worth a contact (every client without a profit cut)

    @property
    def listed(self) -> int:
        return min(self.capacity, self.profitable)

    @property
    def limited_by(self) -> str:
        """"profit" or "capacity" (what ended the sheet first), "" when every scored client is listed."""
        if self.listed == self.scored:
            return ""
        return "profit" if self.profitable < self.capacity else "capacity"


def score_core(features: pd.DataFrame, probability: np.ndarray, monthly_value: pd.Series | None,
               config: SegmentsConfig) -> pd.DataFrame:
    """Per-client segments that need no other client (all but the value quadrant).

    A scorer working in partitions calls this per partition and `score_frame_of` once on the
    concatenation, so every column comes out as in a single pass.
    """
    value = (monthly_value.reindex(features["client_id"].astype(str)).to_numpy(dtype=float)
             if monthly_value is not None else np.full(len(features), np.nan))
    p = np.round(np.asarray(probability, dtype=np.float64), 6)
    last_score = features[LAST_SCORE.name].to_numpy(dtype=float) if LAST_SCORE.name in features else \
        np.full(len(features), np.nan)
    return pd.DataFrame({
        "client_id": features["client_id"].astype(str).to_numpy(),
        "churn_probability": p,
        "risk_band": risk_band(p, config),
        "monthly_value": value,
        "expected_value_at_risk": np.round(expected_value_at_risk(p, value, config), 2),
        "nps_group": nps_group(last_score),
        "loyalty_stage": loyalty_stage(features.reset_index(drop=True), config),
    })


def score_frame_of(core: pd.DataFrame, config: SegmentsConfig) -> pd.DataFrame:
    """The portfolio view: the core columns plus the value quadrant (its split is portfolio-wide)."""
    quadrant = value_quadrant(core["monthly_value"].to_numpy(dtype=float),
                              core["churn_probability"].to_numpy(dtype=float), config)
    return core.assign(value_quadrant=quadrant)


def score_frame(features: pd.DataFrame, probability: np.ndarray, monthly_value: pd.Series | None,
                config: SegmentsConfig) -> pd.DataFrame:
    """Every scored client with its segments (no reasons yet): the portfolio view."""
    return score_frame_of(score_core(features, probability, monthly_value, config), config)


def order(scored: pd.DataFrame, sort: str) -> pd.DataFrame:
    """Who to call first. By value at risk (ties by probability), or by probability alone.

    Ties end on client_id, so the same input always gives the same order.
    """
    by_value = sort == "value" and scored["expected_value_at_risk"].notna().any()
    keys = ["expected_value_at_risk", "churn_probability", "client_id"] if by_value else \
        ["churn_probability", "client_id"]
    ascending = [False] * (len(keys) - 1) + [True]
    ranked = scored.sort_values(keys, ascending=ascending, kind="mergesort", na_position="last")
    return ranked.reset_index(drop=True).assign(rank=np.arange(1, len(ranked) + 1, dtype=np.int64))


def build(features: pd.DataFrame, probability: np.ndarray, monthly_value: pd.Series | None, bundle: ModelBundle,
          config: SegmentsConfig, playbook: Playbook, previous: pd.DataFrame | None, as_of: str,
          model_version: str, options: ListOptions) -> tuple[pd.DataFrame, pd.DataFrame, ListSummary]:
    """(exported list, every scored client ranked, summary)."""
    scored = order(score_frame(features, probability, monthly_value, config), options.sort)
    listed = select(scored, options)
    # reasons only for the exported rows: contributions cost a tree walk per row
    rows = features.set_index(features["client_id"].astype(str)).loc[listed["client_id"]].reset_index(drop=True)
    explained = explain(rows, bundle, options.lang, options.glossary)
    return finish(listed, scored, explained, client_facts(rows), bundle, config, playbook, previous, as_of,
                  model_version, options)


def cut(scored: pd.DataFrame, options: ListOptions) -> Cut:
    """The call sheet's length over the ranked portfolio: the team's capacity, and no further than the
    last client worth a contact (`models.evaluation.profit_cut`) when the options carry its economics."""
    n = len(scored)
    capacity = clients_at_capacity(options.capacity, n)
    profitable = n
    if options.contact is not None and n:
        monthly = scored["monthly_value"].to_numpy(dtype=float)
        value = client_values(None if np.isnan(monthly).all() else monthly, n, options.contact)
        profitable = profit_cut(scored["churn_probability"].to_numpy(dtype=float), value, options.contact)
    return Cut(n, capacity, profitable)


def select(scored: pd.DataFrame, options: ListOptions) -> pd.DataFrame:
    """The rows the team will get: the ranked portfolio up to the cut (`cut`)."""
    return scored.head(cut(scored, options).listed)


def explain(rows: pd.DataFrame, bundle: ModelBundle, lang: str, glossary: Glossary = DEFAULT_GLOSSARY) -> Explained:
    """The reasons and context of each feature row (a tree walk per row: call it on listed rows only)."""
    contrib = contributions(bundle.booster, rows, bundle.spec, bundle.linear, bundle.forecast)
    return Explained(top_reasons(contrib, rows, bundle.spec, lang, typical=bundle.typical, glossary=glossary),
                     client_context(rows, bundle.spec, bundle.importance(), lang, glossary))


def finish(listed: pd.DataFrame, scored: pd.DataFrame, explained: Explained, facts: pd.DataFrame,
           bundle: ModelBundle, config: SegmentsConfig, playbook: Playbook, previous: pd.DataFrame | None, as_of: str,
           model_version: str, options: ListOptions) -> tuple[pd.DataFrame, pd.DataFrame, ListSummary]:
    """Actions (in rank order, within each action's capacity, from the clients' `facts` row by row),
    changes since the previous list, summary."""
    action_keys = assign_actions(listed, facts, playbook)
    listed = listed.assign(
        top_reasons=[REASON_SEPARATOR.join(r.text for r in rs) for rs in explained.reasons],
        client_context=explained.context,
        recommended_action=[getattr(playbook.actions[k], options.lang) for k in action_keys],
        model_version=str(model_version),
        as_of=as_of,
    )
    listed = _against_previous(listed, previous, as_of)
    summary = summarise(listed, scored, explained.reasons, action_keys, playbook, previous, bundle, config, options,
                        as_of=as_of, model_version=str(model_version))
    return listed[list(COLUMNS)], scored, summary


def _against_previous(listed: pd.DataFrame, previous: pd.DataFrame | None, as_of: str) -> pd.DataFrame:
    """Previous rank, new on the list, and since when a client has been on it without a break (a
    client who left the list and came back starts again). A previous list written before
    `on_list_since` existed counts from its own day."""
    if previous is None or not len(previous):
        previous_rank = pd.array([pd.NA] * len(listed), dtype="Int64")
        since = pd.Series(as_of, index=listed.index)
    else:
        ids = previous["client_id"].astype(str).to_numpy()
        earlier = pd.Series(previous["rank"].to_numpy(), index=ids)
        previous_rank = earlier.reindex(listed["client_id"]).astype("Int64").to_numpy()
        first_day = previous["on_list_since"] if "on_list_since" in previous else previous.get("as_of")
        carried = (pd.Series(first_day.astype(str).to_numpy(), index=ids) if first_day is not None
                   else pd.Series(dtype=str))
        since = pd.Series(carried.reindex(listed["client_id"]).to_numpy(), index=listed.index)
        since = since.where(since.notna() & pd.notna(previous_rank), as_of)
    days = (pd.Timestamp(as_of) - pd.to_datetime(since, format="%Y-%m-%d")).dt.days.astype("int64")
    return listed.assign(previous_rank=previous_rank, new_on_list=pd.isna(previous_rank),
                         on_list_since=since.astype(str).to_numpy(), days_on_list=days.to_numpy())


def _by(frame: pd.DataFrame, column: str, levels: tuple[str, ...]) -> tuple[SegmentCount, ...]:
    out = []
    for level in levels:
        part = frame[frame[column] == level]
        out.append(SegmentCount(level, int(len(part)), round(float(np.nansum(part["expected_value_at_risk"])), 2)))
    return tuple(out)


def _changes(listed: pd.DataFrame, previous: pd.DataFrame | None) -> Changes:
    new_on_list = int(listed["new_on_list"].sum())
    if previous is None or not len(previous):
        return Changes(previous_available=False, new_on_list=new_on_list)
    was = set(previous["client_id"].astype(str))
    now = set(listed["client_id"])
    moved = listed.dropna(subset=["previous_rank"])
    return Changes(previous_available=True, new_on_list=new_on_list, left_list=len(was - now),
                   moved_up=int((moved["previous_rank"] > moved["rank"]).sum()),
                   moved_down=int((moved["previous_rank"] < moved["rank"]).sum()))


def summarise(listed: pd.DataFrame, scored: pd.DataFrame, reasons, action_keys: list[str], playbook: Playbook,
              previous: pd.DataFrame | None, bundle: ModelBundle, config: SegmentsConfig, options: ListOptions,
              *, as_of: str, model_version: str) -> ListSummary:
    total_var = float(np.nansum(scored["expected_value_at_risk"]))
    listed_var = float(np.nansum(listed["expected_value_at_risk"]))
    has_value = bool(scored["monthly_value"].notna().any())
    expected_churners = float(scored["churn_probability"].sum())
    retention = config.retention_cost_per_client
    reason_counts = Counter(r.feature for rs in reasons for r in rs)
    declarations = declared(bundle.spec)
    action_counts = Counter(action_keys)
    sheet = cut(scored, options)
    return ListSummary(
        lang=options.lang,
        sort="expected_value_at_risk" if options.sort == "value" and has_value else "churn_probability",
        capacity=options.capacity,
        clients_scored=int(len(scored)),
        clients_listed=int(len(listed)),
        capacity_clients=sheet.capacity,
        profitable_clients=sheet.profitable,
        limited_by=sheet.limited_by,
        clients_beyond_cut=int(len(scored) - len(listed)),
        value_at_risk_beyond_cut=round(total_var - listed_var, 2) if has_value else None,
        has_monthly_value=has_value,
        value_horizon_months=config.value_horizon_months,
        value_at_risk_total=round(total_var, 2) if has_value else None,
        value_at_risk_listed=round(listed_var, 2) if has_value else None,
        value_at_risk_listed_share=round(listed_var / total_var, 4) if has_value and total_var > 0 else None,
        by_band_listed=_by(listed, "risk_band", RISK_BANDS),
        by_band_portfolio=_by(scored, "risk_band", RISK_BANDS),
        by_quadrant_listed=_by(listed, "value_quadrant", VALUE_QUADRANTS),
        by_loyalty_listed=_by(listed, "loyalty_stage", LOYALTY_STAGES),
        nps_portfolio=NpsMix.of(portfolio_nps(scored["nps_group"])),
        nps_listed=NpsMix.of(portfolio_nps(listed["nps_group"])),
        top_reasons=tuple(ReasonCount(label(declarations[f], options.lang, options.glossary), f, n)
                          for f, n in reason_counts.most_common(10)),
        actions=tuple(ActionCount(getattr(playbook.actions[k], options.lang), k, action_counts[k],
                                  playbook.actions[k].capacity) for k in playbook.actions if action_counts[k]),
        expected_churners=round(expected_churners, 2),
        acquisition_to_retention_cost_ratio=config.acquisition_to_retention_cost_ratio,
        retention_cost_per_client=retention,
        replacement_cost=round(expected_churners * retention * config.acquisition_to_retention_cost_ratio, 2),
        retention_cost_listed=round(len(listed) * retention, 2),
        changes=_changes(listed, previous),
        as_of=as_of,
        model_version=model_version,
        reason_features=tuple(_reason_feature(declarations[f], options.lang, options.glossary)
                              for f, _ in reason_counts.most_common()),
    )


def _reason_feature(feature: Feature, lang: str, glossary: Glossary) -> ReasonFeature:
    return ReasonFeature(feature.name, label(feature, lang, glossary), FAMILY_WORDS[feature.family](lang),
                         HIGHER_VALUE_WORDS[feature.direction](lang))
