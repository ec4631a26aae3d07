"""The list as an Excel workbook: the list, a summary and column definitions.

Names, headers and code values are in the chosen language; zip entries and document dates are
fixed from as_of, so the same input gives the same bytes. Every text is neutralised
(`tabular.neutralise`) and stored as a string, never as a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pandas as pd
from openpyxl import Workbook
from openpyxl.xml.functions import tostring

from models.risk_list import COLUMNS
from models.segments import NPS_GROUPS
from models.summary import ListSummary, NpsMix, SegmentCount
from pipeline.exports import texts
from pipeline.exports.cells import Cells, append_fitted
from pipeline.exports.list_sheet import fit_to_page_width, list_sheet
from pipeline.exports.texts import t


def xlsx_bytes(listed: pd.DataFrame, summary: ListSummary, lang: str) -> bytes:
    # write-only: rows stream to disk, so a list of every client (100k rows) stays cheap
    wb = Workbook(write_only=True)
    moment = _fixed_moment(summary.as_of)
    wb.properties.creator = "churn-pipeline"
    wb.properties.title = t("report_title", lang)
    wb.properties.created = moment
    wb.properties.language = lang
    list_sheet(wb, listed, lang, str(summary.as_of), str(summary.model_version))
    _summary_sheet(wb, summary, lang)
    _definitions_sheet(wb, summary, lang)
    buffer = io.BytesIO()
    wb.save(buffer)
    # openpyxl stamps "modified" with the clock, and zip entries with the time of writing
    wb.properties.modified = moment
    return _normalised_zip(buffer.getvalue(), moment, {"docProps/core.xml": tostring(wb.properties.to_tree())})


def _fixed_moment(as_of: str | None) -> dt.datetime:
    """The workbook's created/modified time and zip timestamps: as_of at midnight, so reruns match."""
    try:
        moment = dt.datetime.fromisoformat(str(as_of)[:10])
    except ValueError:
        moment = dt.datetime(1980, 1, 1)
    return max(moment, dt.datetime(1980, 1, 1))  # the zip format starts in 1980


def _normalised_zip(data: bytes, moment: dt.datetime, replace: dict[str, bytes]) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=moment.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, replace.get(info.filename, source.read(info.filename)))
    return out.getvalue()


# --------------------------------------------------------------------------------------- the summary sheet

# summary columns, in characters: labels in A, numbers and short headers in B..E
LABEL_WIDTH = (24, 64)
VALUE_WIDTH = (10, 30)


def _summary_sheet(wb: Workbook, summary: ListSummary, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_summary", lang))
    cells = Cells(ws)
    rows = [row for part in (_head_rows, _band_rows, _nps_rows, _reason_rows, _cost_rows, _action_rows,
                             _segment_rows, _change_rows) for row in part(summary, lang, cells)]
    widths = _summary_widths(rows)
    for letter, width in zip("ABCDE", widths):
        ws.column_dimensions[letter].width = width
    fit_to_page_width(ws, "portrait")
    for row in rows:
        # a sentence alone on its row wraps within column A instead of running off the page
        if len(row) == 1 and row[0] is not None and len(str(row[0].value)) > widths[0]:
            row[0].alignment = cells.wrap
    append_fitted(ws, rows, widths, 1)


def _summary_widths(rows: list[list]) -> list[float]:
    """Columns A..E fitted to what they show: A to the labels of rows that carry values (a lone
    sentence wraps), B..E to their numbers and headers, whole, within bounds."""
    longest = [0] * 5
    for row in rows:
        for i, cell in enumerate(row[:5]):
            if cell is None or (i == 0 and len(row) == 1):
                continue
            value = cell.value
            shown = str(value) if isinstance(value, str) else f"{value:,.2f}"
            longest[i] = max(longest[i], len(shown) + 2)
    bounds = [LABEL_WIDTH, *[VALUE_WIDTH] * 4]
    return [float(min(max(n, low), high)) for n, (low, high) in zip(longest, bounds)]


def _head_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    text = cells.text
    capacity = summary.capacity
    rows: list[list] = [
        [text(t("summary_title", lang), font=cells.title)],
        [text(t("as_of", lang)), text(summary.as_of)],
        [text(t("model_version", lang)), text(summary.model_version)],
        [text(t("clients_scored", lang)), cells.count(summary.clients_scored)],
        [text(t("clients_listed", lang)), cells.count(summary.clients_listed)],
        [text(t("ordered_by", lang)), text(texts.order(summary.sort, lang))],
        [text(t("capacity", lang)), cells.count(summary.capacity_clients) if capacity is not None
         else text(t("no_limit", lang))],
        [text(t("sheet_cut", lang)), text(texts.cut_words(summary, lang))],
        [text(t("beyond_cut", lang)), cells.count(summary.clients_beyond_cut)],
        [],
        [text(t("value_section", lang, horizon=texts.number(summary.value_horizon_months, lang)),
              font=cells.bold)],
    ]
    if summary.has_monthly_value:
        rows += [[text(t("value_total", lang)), cells.money(summary.value_at_risk_total)],
                 [text(t("value_listed", lang)), cells.money(summary.value_at_risk_listed)],
                 [text(t("value_share", lang)), cells.share(summary.value_at_risk_listed_share)],
                 [text(t("value_beyond_cut", lang)), cells.money(summary.value_at_risk_beyond_cut)]]
    else:
        rows.append([text(t("value_unknown", lang))])
    return rows


def _band_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    has_value = summary.has_monthly_value
    rows = [*cells.section(t("by_band", lang)),
            cells.header(t("segment", lang), t("clients_listed_short", lang), t("value_listed_short", lang),
                         t("clients_all_short", lang), t("value_all_short", lang))]
    portfolio = {row.level: row for row in summary.by_band_portfolio}
    for row in summary.by_band_listed:
        whole = portfolio.get(row.level, SegmentCount(row.level, 0, None))
        rows.append([cells.text(texts.label(row.level, lang)), cells.count(row.clients),
                     cells.money(row.value_at_risk if has_value else None), cells.count(whole.clients),
                     cells.money(whole.value_at_risk if has_value else None)])
    return rows


def _nps_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    text = cells.text
    rows: list[list] = []
    for key, nps in (("nps_section", summary.nps_portfolio), ("nps_listed_section", summary.nps_listed)):
        rows += [*cells.section(t(key, lang)),
                 [text(t("nps_score", lang)),
                  cells.number(nps.score, "0.0") if nps.score is not None else text(t("nps_nobody", lang))],
                 [text(t("nps_answered", lang)), cells.count(nps.answered)],
                 cells.header(t("nps_group", lang), t("clients", lang), t("share", lang))]
        rows += [[text(texts.label(g, lang)), cells.count(nps.count(g)), cells.share(_share_of(nps, g))]
                 for g in NPS_GROUPS]
    rows.append([text(t("nps_explained", lang))])
    return rows


def _share_of(nps: NpsMix, group: str) -> float | None:
    return nps.count(group) / nps.total if nps.total else None


def _reason_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    rows = cells.section(t("reasons_section", lang))
    if not summary.top_reasons:
        return rows + [[cells.text(t("no_reasons", lang))]]
    rows.append(cells.header(t("reason", lang), t("clients", lang)))
    return rows + [[cells.text(r.reason), cells.count(r.clients)] for r in summary.top_reasons]


def _cost_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    text = cells.text
    return [*cells.section(t("cost_section", lang)),
            [text(t("cost_ratio", lang)), cells.number(summary.acquisition_to_retention_cost_ratio, "0.0")],
            [text(t("cost_per_client", lang)), cells.money(summary.retention_cost_per_client)],
            [text(t("expected_churners", lang)), cells.number(summary.expected_churners, "#,##0.0")],
            [text(t("replacement_cost", lang)), cells.money(summary.replacement_cost)],
            [text(t("retention_cost_listed", lang)), cells.money(summary.retention_cost_listed)],
            [text(texts.cost_sentence(summary, lang))]]


def _action_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    rows = cells.section(t("actions_section", lang))
    if not summary.actions:
        return rows + [[cells.text(t("no_actions", lang))]]
    rows.append(cells.header(t("action", lang), t("clients", lang), t("action_capacity", lang)))
    return rows + [[cells.text(a.action), cells.count(a.clients),
                    cells.count(a.capacity) if a.capacity is not None else cells.text(t("no_limit", lang))]
                   for a in summary.actions]


def _segment_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    has_value = summary.has_monthly_value
    segments = [("by_loyalty", summary.by_loyalty_listed)]
    if has_value:  # every quadrant is blank without value
        segments.insert(0, ("by_quadrant", summary.by_quadrant_listed))
    rows: list[list] = []
    for title, counts in segments:
        rows += [*cells.section(t(title, lang)),
                 cells.header(t("segment", lang), t("clients", lang), t("value_at_risk", lang))]
        rows += [[cells.text(texts.label(r.level, lang)), cells.count(r.clients),
                  cells.money(r.value_at_risk if has_value else None)] for r in counts]
    return rows


def _change_rows(summary: ListSummary, lang: str, cells: Cells) -> list[list]:
    rows = cells.section(t("changes_section", lang))
    changes = summary.changes
    if not changes.previous_available:
        return rows + [[cells.text(t("no_previous", lang))]]
    return rows + [[cells.text(t(k, lang)), cells.count(getattr(changes, k))]
                   for k in ("new_on_list", "left_list", "moved_up", "moved_down")]


# --------------------------------------------------------------------------------------- definitions

# Definitions columns, in characters: the header (or reason label) and the field name fitted to
# their longest within bounds, the meaning wrapped
DEFINITION_WIDTHS = ((14, 44), (12, 40))
MEANING_WIDTH = 100.0


def _definitions_sheet(wb: Workbook, summary: ListSummary, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_definitions", lang))
    cells = Cells(ws)
    rows = [cells.header(t("definitions_column", lang), t("definitions_field", lang),
                         t("definitions_meaning", lang))]
    horizon = texts.number(summary.value_horizon_months, lang)
    for column in COLUMNS:
        meaning = texts.definition(column, lang, horizon=horizon, order=texts.order(summary.sort, lang))
        rows.append([cells.text(texts.header(column, lang), font=cells.bold, wrap=True), cells.text(column, wrap=True),
                     cells.text(meaning, wrap=True)])
    rows += _reasons_glossary(cells, summary, lang)
    widths = [float(min(max(max((len(str(r[i].value)) + 2 for r in rows if len(r) > 2 and r[i] is not None),
                                default=low), low), high))
              for i, (low, high) in enumerate(DEFINITION_WIDTHS)] + [MEANING_WIDTH]
    for letter, width in zip("ABC", widths):
        ws.column_dimensions[letter].width = width
    fit_to_page_width(ws, "landscape")
    ws.print_title_rows = "1:1"
    ws.freeze_panes = "A2"
    append_fitted(ws, rows, widths, 1)


def _reasons_glossary(cells: Cells, summary: ListSummary, lang: str) -> list[list]:
    """What each feature behind a reason on this list measures, from its declaration."""
    if not summary.reason_features:
        return []
    rows = [*cells.section(t("glossary_section", lang)),
            cells.header(t("glossary_reason", lang), t("definitions_field", lang), t("glossary_meaning", lang))]
    for r in summary.reason_features:
        family = t("glossary_family", lang, family=r.family)
        effect = f" {t('glossary_effect', lang, effect=r.higher_value)}" if r.higher_value else ""
        rows.append([cells.text(r.label, font=cells.bold, wrap=True), cells.text(r.feature, wrap=True),
                     cells.text(f"{family}.{effect}", wrap=True)])
    return rows
