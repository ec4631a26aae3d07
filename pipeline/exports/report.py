"""The risk report: one self-contained HTML page (inline CSS, charts as base64 PNG).

The page opens on the call sheet, as a team lead reads it at 9 in the morning: one line on what
the list holds, then the table of whom to call (rank, client, probability, value at risk), why
(each reason on its own line) and what to do. The portfolio (score distribution, value by band
and segment, reasons, NPS, costs, actions, changes) follows.

This module works out what the page shows (numbers written for the reader's language, tables,
charts); `templates/risk_report.html.j2` lays it out, escaping every text.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from features.wording import say
from models.explain import CONTEXT_SEPARATOR
from models.risk_list import REASON_SEPARATOR
from models.segments import NPS_GROUPS
from models.summary import ListSummary, SegmentCount
from pipeline.exports import charts, pages, texts
from pipeline.exports.texts import t

# a call sheet longer than this is cut in the page (the files hold every row): a day's calls
# fit, and a list of every client does not make a page of megabytes
CALL_SHEET_ROWS_IN_REPORT = 250
# the columns of the call sheet: whom, why, what
CALL_SHEET_COLUMNS = ("rank", "client_id", "churn_probability", "risk_band", "expected_value_at_risk",
                      "top_reasons", "client_context", "recommended_action", "days_on_list")

# (text, is_number): numbers are right-aligned; a tuple of texts shows one per line
Cell = tuple[str | tuple[str, ...], bool]


@dataclass(frozen=True)
class Table:
    head: list[str]
    rows: list[list[Cell]]
    classes: list[str] | None = None  # one CSS class per row


class _Cells:
    """Table cells written for one language; money is blank when the data has no value."""

    def __init__(self, lang: str, has_value: bool) -> None:
        self.lang = lang
        self.has_value = has_value

    def number(self, value, decimals: int = 0) -> Cell:
        return texts.number(value, self.lang, decimals), True

    def money(self, value: float | None) -> Cell:
        return (texts.number(value, self.lang, 2) if self.has_value and value is not None else ""), True

    def label(self, code: str) -> Cell:
        return texts.label(code, self.lang), False


def report_html(listed: pd.DataFrame, scored: pd.DataFrame, summary: ListSummary, lang: str) -> str:
    texts.check_lang(lang)
    cells = _Cells(lang, summary.has_monthly_value)
    probability = pd.to_numeric(scored["churn_probability"], errors="coerce").dropna().to_numpy(dtype=float)
    return pages.render(
        "risk_report.html.j2", lang=lang, summary=summary,
        t=functools.partial(t, lang=lang), number=functools.partial(texts.number, lang=lang),
        lead=_lead(summary, lang),
        kpis=_kpis(summary, lang),
        histogram=charts.histogram(probability, lang) if len(probability) else None,
        band_chart=(charts.value_by_band(summary.by_band_listed, summary.by_band_portfolio, lang)
                    if summary.has_monthly_value else None),
        band_table=_band_table(summary, cells),
        segments=_segments(summary, cells),
        reasons=_reasons(summary, cells),
        nps=_nps(summary, cells),
        cost_sentence=texts.cost_sentence(summary, lang),
        cost_table=_cost_table(summary, cells),
        actions=_actions(summary, cells),
        changes=_changes(summary, cells),
        call_sheet=_call_sheet(listed, cells),
    )


def _lead(summary: ListSummary, lang: str) -> str:
    """The one line above the call sheet: how many to call and what they hold."""
    scored = texts.number(summary.clients_scored, lang)
    listed = texts.number(summary.clients_listed, lang)
    if not summary.clients_listed:
        return t("lead_empty", lang, scored=scored)
    if not summary.has_monthly_value or summary.value_at_risk_total is None:
        return t("lead_no_value", lang, listed=listed, scored=scored)
    return t("lead", lang, listed=listed, scored=scored,
             listed_value=texts.number(summary.value_at_risk_listed, lang, 2),
             total_value=texts.number(summary.value_at_risk_total, lang, 2),
             share=texts.percent(summary.value_at_risk_listed_share, lang) or "-")


def _kpis(summary: ListSummary, lang: str) -> list[tuple[str, str]]:
    if summary.has_monthly_value and summary.value_at_risk_total is not None:
        covered = t("value_covered_text", lang, listed=texts.number(summary.value_at_risk_listed, lang, 2),
                    total=texts.number(summary.value_at_risk_total, lang, 2),
                    share=texts.percent(summary.value_at_risk_listed_share, lang) or "-")
    else:
        covered = t("value_unknown_short", lang)
    return [(t("clients_scored", lang), texts.number(summary.clients_scored, lang)),
            (t("clients_listed", lang), texts.number(summary.clients_listed, lang)),
            (t("sheet_cut", lang), texts.cut_words(summary, lang)),
            (t("beyond_cut", lang), texts.number(summary.clients_beyond_cut, lang)),
            (t("value_covered", lang), covered),
            (t("nps_section", lang), texts.nps_score(summary.nps_portfolio.score, lang))]


def _band_table(summary: ListSummary, cells: _Cells) -> Table:
    lang = cells.lang
    portfolio = {r.level: r for r in summary.by_band_portfolio}
    rows = []
    for r in summary.by_band_listed:
        whole = portfolio.get(r.level, SegmentCount(r.level, 0, None))
        rows.append([cells.label(r.level), cells.number(r.clients), cells.money(r.value_at_risk),
                     cells.number(whole.clients), cells.money(whole.value_at_risk)])
    return Table([t("segment", lang), t("clients_listed_short", lang), t("value_listed_short", lang),
                  t("clients_all_short", lang), t("value_all_short", lang)], rows,
                 [f"band-{r.level}" for r in summary.by_band_listed])


def _segments(summary: ListSummary, cells: _Cells) -> list[dict]:
    """Value quadrants (only with value: every quadrant is blank without it) and loyalty stages."""
    lang = cells.lang
    segments = [("loyalty_caption", summary.by_loyalty_listed)]
    if cells.has_value:
        segments.insert(0, ("quadrant_caption", summary.by_quadrant_listed))
    out = []
    for caption, counts in segments:
        labels = [texts.label(r.level, lang) for r in counts]
        chart = (charts.bars(labels, [r.value_at_risk for r in counts], t("value_at_risk", lang), lang)
                 if cells.has_value and counts else None)
        table = Table([t("segment", lang), t("clients", lang), t("value_at_risk", lang)],
                      [[(label, False), cells.number(r.clients), cells.money(r.value_at_risk)]
                       for label, r in zip(labels, counts)])
        out.append({"caption": t(caption, lang), "chart": chart, "table": table})
    return out


def _reasons(summary: ListSummary, cells: _Cells) -> dict | None:
    lang = cells.lang
    reasons = summary.top_reasons
    if not reasons:
        return None
    chart = charts.bars([r.reason for r in reasons], [r.clients for r in reasons], t("clients", lang), lang)
    table = Table([t("reason", lang), t("clients", lang)],
                  [[(texts.plain_words(r.reason), False), cells.number(r.clients)] for r in reasons])
    return {"chart": chart, "table": table}


def _nps(summary: ListSummary, cells: _Cells) -> dict:
    """The NPS mix of the clients on the list; a chart only when the list has clients."""
    lang = cells.lang
    nps = summary.nps_listed
    total = nps.total
    caption = t("nps_caption", lang, listed=texts.nps_score(nps.score, lang),
                portfolio=texts.nps_score(summary.nps_portfolio.score, lang))
    table = Table([t("nps_group", lang), t("clients", lang), t("share", lang)],
                  [[cells.label(g), cells.number(nps.count(g)),
                    (texts.percent(nps.count(g) / total, lang) if total else "", True)] for g in NPS_GROUPS])
    return {"chart": charts.nps_mix(nps, lang) if total else None, "caption": caption, "table": table}


def _cost_table(summary: ListSummary, cells: _Cells) -> Table:
    lang = cells.lang
    return Table(["", ""], [
        [(t("cost_ratio", lang), False), (texts.ratio(summary.acquisition_to_retention_cost_ratio, lang), True)],
        [(t("cost_per_client", lang), False), cells.number(summary.retention_cost_per_client, 2)],
        [(t("expected_churners", lang), False), cells.number(summary.expected_churners, 1)],
        [(t("replacement_cost", lang), False), cells.number(summary.replacement_cost, 2)],
        [(t("retention_cost_listed", lang), False), cells.number(summary.retention_cost_listed, 2)]])


def _actions(summary: ListSummary, cells: _Cells) -> Table | None:
    lang = cells.lang
    if not summary.actions:
        return None
    return Table([t("action", lang), t("clients", lang), t("action_capacity", lang)],
                 [[(a.action, False), cells.number(a.clients),
                   cells.number(a.capacity) if a.capacity is not None else (t("no_limit", lang), True)]
                  for a in summary.actions])


def _changes(summary: ListSummary, cells: _Cells) -> Table | None:
    lang = cells.lang
    changes = summary.changes
    if not changes.previous_available:
        return None
    return Table(["", t("clients", lang)], [[(t(k, lang), False), cells.number(getattr(changes, k))]
                                            for k in ("new_on_list", "left_list", "moved_up", "moved_down")])


def _lines(text, separator: str) -> tuple[str, ...]:
    """A joined text cell as its parts, one per line; none for a missing or empty cell."""
    return () if pd.isna(text) else tuple(part for part in str(text).split(separator) if part)


def _on_the_list(new: bool, days: int, lang: str) -> Cell:
    """"new", or how long the client has been waiting on the list ("12 days")."""
    if new:
        return t("on_the_list_new", lang), False
    return say(t("on_the_list_days", lang), lang, days=days), True


def _call_sheet(listed: pd.DataFrame, cells: _Cells) -> dict | None:
    """The list as the team will call it: each reason on its own line."""
    lang = cells.lang
    if not len(listed):
        return None
    top = listed.head(CALL_SHEET_ROWS_IN_REPORT)
    rows = []
    for _, r in top.iterrows():
        value = r["expected_value_at_risk"]
        reasons = _lines(r["top_reasons"], REASON_SEPARATOR) or (t("no_reason", lang),)
        context = _lines(r["client_context"], CONTEXT_SEPARATOR)
        rows.append([cells.number(int(r["rank"])), (str(r["client_id"]), False),
                     (texts.percent(float(r["churn_probability"]), lang), True),
                     cells.label(str(r["risk_band"])),
                     cells.money(None if pd.isna(value) else float(value)),
                     (reasons, False), (context, False),
                     ("" if pd.isna(r["recommended_action"]) else str(r["recommended_action"]), False),
                     _on_the_list(bool(r["new_on_list"]), int(r["days_on_list"]), lang)])
    caption = (t("call_sheet_all", lang, listed=texts.number(len(listed), lang)) if len(top) == len(listed) else
               t("top_caption", lang, shown=texts.number(len(top), lang), listed=texts.number(len(listed), lang)))
    heads = [t("on_the_list", lang) if c == "days_on_list" else texts.header(c, lang) for c in CALL_SHEET_COLUMNS]
    table = Table(heads, rows,
                  [f"band-{b}" for b in top["risk_band"].astype(str)])
    return {"caption": caption, "table": table}
