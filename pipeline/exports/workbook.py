"""The list as an Excel workbook: the list, a summary and column definitions.

Names, headers and code values are in the chosen language; zip entries and document dates are
fixed from as_of, so the same input gives the same bytes. Every text is neutralised
(`tabular.neutralise`) and stored as a string, never as a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import zipfile

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.xml.functions import tostring

from models.risk_list import COLUMNS
from models.segments import NPS_GROUPS
from models.summary import ListSummary, NpsMix, SegmentCount
from pipeline.exports import texts
from pipeline.exports.tabular import human_frame, neutralise, neutralise_series, text_series
from pipeline.exports.texts import t

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
# the list sheet's number columns and their display formats
NUMBER_FORMATS = {"rank": "0", "previous_rank": "0", "churn_probability": PERCENT_FORMAT,
                  "monthly_value": MONEY_FORMAT, "expected_value_at_risk": MONEY_FORMAT}
# the band cell strong, the rest of the row a light tint of the same colour
BAND_FILL = {"high": "E88C8C", "medium": "F6C26B", "low": "9FD08C"}
BAND_TINT = {"high": "FBE3E3", "medium": "FDF0D9", "low": "E8F4E3"}


def xlsx_bytes(listed: pd.DataFrame, summary: ListSummary, lang: str) -> bytes:
    # write-only: rows stream to disk, so a list of every client (100k rows) stays cheap
    wb = Workbook(write_only=True)
    moment = _fixed_moment(summary.as_of)
    wb.properties.creator = "churn-pipeline"
    wb.properties.title = t("report_title", lang)
    wb.properties.created = moment
    wb.properties.language = lang
    _list_sheet(wb, listed, lang)
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


# --------------------------------------------------------------------------------------- cells

def _clean_text(text: str) -> str:
    """XML cannot hold most control characters; dropping one may expose a formula trigger."""
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", text))


def _xlsx_texts(values: pd.Series) -> list[str | None]:
    """Cell texts for the list sheet; "" becomes None, a blank cell rather than an empty string."""
    clean = neutralise_series(values.astype(str).str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True))
    return [text or None for text in clean.tolist()]


class _Cells:
    """Cells for a write-only sheet; every text is neutralised and stored as a string."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.bold = Font(bold=True)
        self.title = Font(bold=True, size=14)
        self.header_fill = PatternFill("solid", fgColor="D9D9D9")
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def text(self, value: str, *, font: Font | None = None, fill: PatternFill | None = None,
             wrap: bool = False) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, _clean_text(str(value)))
        cell.data_type = "s"  # never a formula, whatever the text
        if font is not None:
            cell.font = font
        if fill is not None:
            cell.fill = fill
        if wrap:
            cell.alignment = self.wrap
        return cell

    def number(self, value, number_format: str) -> WriteOnlyCell | None:
        """A number with its display format; None (a blank cell) when the value is missing."""
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return None
        cell = WriteOnlyCell(self.ws, value)
        cell.number_format = number_format
        return cell

    def money(self, value) -> WriteOnlyCell | None:
        return self.number(value, MONEY_FORMAT)

    def count(self, value) -> WriteOnlyCell | None:
        return self.number(value, COUNT_FORMAT)

    def share(self, value) -> WriteOnlyCell | None:
        return self.number(value, PERCENT_FORMAT)

    def header(self, *labels: str) -> list[WriteOnlyCell]:
        return [self.text(x, font=self.bold, fill=self.header_fill) for x in labels]

    def section(self, title: str) -> list[list]:
        """A blank row, then the section's title in bold."""
        return [[], [self.text(title, font=self.bold)]]


def _styled(ws, value, template: WriteOnlyCell) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    # share the template's style record, as openpyxl's own sheet copy does: setting fonts and
    # fills cell by cell re-hashes them and costs seconds per 10k rows
    cell._style = template._style
    return cell


def _python_numbers(values: pd.Series) -> list:
    """numpy / pandas scalars as plain Python numbers (None when missing) for openpyxl."""
    if isinstance(values.dtype, pd.Int64Dtype) or str(values.dtype) == "Int64":
        return [None if v is pd.NA else int(v) for v in values.tolist()]
    array = values.to_numpy(dtype=float, na_value=np.nan)
    if values.dtype.kind in "iu":
        return [int(v) for v in array]
    return [None if math.isnan(v) else float(v) for v in array]


# --------------------------------------------------------------------------------------- the list sheet

def _widths(human: pd.DataFrame, lang: str) -> list[float]:
    fixed = {"rank": 8, "churn_probability": 12, "monthly_value": 14, "expected_value_at_risk": 14,
             "previous_rank": 10}
    widths = []
    for column in COLUMNS:
        head = len(texts.header(column, lang)) + 4  # room for the filter button
        if column in fixed:
            widths.append(float(max(head, fixed[column])))
            continue
        values = human[column]
        longest = int(values.str.len().max()) if len(values) else 0
        widths.append(float(min(max(head, longest + 2, 8), 60)))
    return widths


def _tint_rows_by_band(ws, rows: int, lang: str) -> None:
    """The rest of the row tinted by band through conditional formatting (follows the user's
    sorting, costs nothing per cell); the band cell itself carries a fixed, stronger fill, so it
    is left out of the rule (a conditional fill would cover it)."""
    band_at = COLUMNS.index("risk_band") + 1
    band_letter = get_column_letter(band_at)
    tinted = " ".join(f"{get_column_letter(a)}2:{get_column_letter(b)}{rows}"
                      for a, b in ((1, band_at - 1), (band_at + 1, len(COLUMNS))) if a <= b)
    for band, colour in BAND_TINT.items():
        word = texts.label(band, lang).replace('"', '""')
        ws.conditional_formatting.add(tinted, FormulaRule(
            formula=[f'${band_letter}2="{word}"'], fill=PatternFill("solid", fgColor=colour, bgColor=colour)))


def _list_columns(ws, cells: _Cells, listed: pd.DataFrame, human: pd.DataFrame) -> list[list]:
    """One list of cell values per column, numbers and band cells styled."""
    templates = {c: cells.number(0, f) for c, f in NUMBER_FORMATS.items()}
    band_templates = {b: cells.text("", fill=PatternFill("solid", fgColor=c), font=cells.bold)
                      for b, c in BAND_FILL.items()}
    bands = text_series(listed["risk_band"]).tolist()
    columns = []
    for column in COLUMNS:
        if column in NUMBER_FORMATS:
            columns.append([None if v is None else _styled(ws, v, templates[column])
                            for v in _python_numbers(listed[column])])
        elif column == "risk_band":
            columns.append([_styled(ws, text, band_templates[band]) if band in band_templates else text
                            for text, band in zip(_xlsx_texts(human[column]), bands)])
        else:
            # neutralised, so openpyxl stores every one as a string (it reads a leading "=" as a formula)
            columns.append(_xlsx_texts(human[column]))
    return columns


def _list_sheet(wb: Workbook, listed: pd.DataFrame, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_list", lang))
    cells = _Cells(ws)
    human = human_frame(listed, lang)
    for i, width in enumerate(_widths(human, lang), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(listed) + 1}"
    if len(listed):
        _tint_rows_by_band(ws, len(listed) + 1, lang)
    ws.append(cells.header(*(texts.header(c, lang) for c in COLUMNS)))
    for row in zip(*_list_columns(ws, cells, listed, human)):
        ws.append(list(row))


# --------------------------------------------------------------------------------------- the summary sheet

def _summary_sheet(wb: Workbook, summary: ListSummary, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_summary", lang))
    for letter, width in zip("ABCDE", (70, 18, 20, 18, 20)):
        ws.column_dimensions[letter].width = width
    cells = _Cells(ws)
    for part in (_head_rows, _band_rows, _nps_rows, _reason_rows, _cost_rows, _action_rows, _segment_rows,
                 _change_rows):
        for row in part(summary, lang, cells):
            ws.append(row)


def _head_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
    text = cells.text
    capacity = summary.capacity
    rows: list[list] = [
        [text(t("summary_title", lang), font=cells.title)],
        [text(t("as_of", lang)), text(summary.as_of)],
        [text(t("model_version", lang)), text(summary.model_version)],
        [text(t("clients_scored", lang)), cells.count(summary.clients_scored)],
        [text(t("clients_listed", lang)), cells.count(summary.clients_listed)],
        [text(t("ordered_by", lang)), text(texts.order(summary.sort, lang))],
        [text(t("capacity", lang)), cells.count(capacity) if capacity is not None else text(t("no_limit", lang))],
        [],
        [text(t("value_section", lang, horizon=texts.number(summary.value_horizon_months, lang)),
              font=cells.bold)],
    ]
    if summary.has_monthly_value:
        rows += [[text(t("value_total", lang)), cells.money(summary.value_at_risk_total)],
                 [text(t("value_listed", lang)), cells.money(summary.value_at_risk_listed)],
                 [text(t("value_share", lang)), cells.share(summary.value_at_risk_listed_share)]]
    else:
        rows.append([text(t("value_unknown", lang))])
    return rows


def _band_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
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


def _nps_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
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


def _reason_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
    rows = cells.section(t("reasons_section", lang))
    if not summary.top_reasons:
        return rows + [[cells.text(t("no_reasons", lang))]]
    rows.append(cells.header(t("reason", lang), t("clients", lang)))
    return rows + [[cells.text(r.reason), cells.count(r.clients)] for r in summary.top_reasons]


def _cost_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
    text = cells.text
    return [*cells.section(t("cost_section", lang)),
            [text(t("cost_ratio", lang)), cells.number(summary.acquisition_to_retention_cost_ratio, "0.0")],
            [text(t("cost_per_client", lang)), cells.money(summary.retention_cost_per_client)],
            [text(t("expected_churners", lang)), cells.number(summary.expected_churners, "#,##0.0")],
            [text(t("replacement_cost", lang)), cells.money(summary.replacement_cost)],
            [text(t("retention_cost_listed", lang)), cells.money(summary.retention_cost_listed)],
            [text(texts.cost_sentence(summary, lang))]]


def _action_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
    rows = cells.section(t("actions_section", lang))
    if not summary.actions:
        return rows + [[cells.text(t("no_actions", lang))]]
    rows.append(cells.header(t("action", lang), t("clients", lang), t("action_capacity", lang)))
    return rows + [[cells.text(a.action), cells.count(a.clients),
                    cells.count(a.capacity) if a.capacity is not None else cells.text(t("no_limit", lang))]
                   for a in summary.actions]


def _segment_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
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


def _change_rows(summary: ListSummary, lang: str, cells: _Cells) -> list[list]:
    rows = cells.section(t("changes_section", lang))
    changes = summary.changes
    if not changes.previous_available:
        return rows + [[cells.text(t("no_previous", lang))]]
    return rows + [[cells.text(t(k, lang)), cells.count(getattr(changes, k))]
                   for k in ("new_on_list", "left_list", "moved_up", "moved_down")]


# --------------------------------------------------------------------------------------- definitions

def _definitions_sheet(wb: Workbook, summary: ListSummary, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_definitions", lang))
    cells = _Cells(ws)
    for letter, width in zip("ABC", (28, 26, 100)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append(cells.header(t("definitions_column", lang), t("definitions_field", lang),
                           t("definitions_meaning", lang)))
    horizon = texts.number(summary.value_horizon_months, lang)
    for column in COLUMNS:
        meaning = texts.definition(column, lang, horizon=horizon, order=texts.order(summary.sort, lang))
        ws.append([cells.text(texts.header(column, lang), font=cells.bold), cells.text(column),
                   cells.text(meaning, wrap=True)])
    _reasons_glossary(ws, cells, summary, lang)


def _reasons_glossary(ws, cells: _Cells, summary: ListSummary, lang: str) -> None:
    """What each feature behind a reason on this list measures, from its declaration."""
    if not summary.reason_features:
        return
    for row in cells.section(t("glossary_section", lang)):
        ws.append(row)
    ws.append(cells.header(t("glossary_reason", lang), t("definitions_field", lang), t("glossary_meaning", lang)))
    for r in summary.reason_features:
        family = t("glossary_family", lang, family=r.family)
        effect = f" {t('glossary_effect', lang, effect=r.higher_value)}" if r.higher_value else ""
        ws.append([cells.text(r.label, font=cells.bold), cells.text(r.feature),
                   cells.text(f"{family}.{effect}", wrap=True)])
