"""The workbook's list sheet: the call sheet first, fitted to its content, set up to print.

Columns run in the order a caller reads a row (`CALL_SHEET`: rank, client, probability, band,
value at risk, reasons, the client's context, action, new on the list, previous rank, days on the
list), then the columns an analyst
filters on (monthly value, NPS group, loyalty stage, value quadrant, model version, as-of).
Every text wraps at word boundaries, in a column fitted to its longest value within bounds
(reasons and actions may grow widest), and never narrower than the longest word of its header:
a header wraps whole, never cut mid-word.

Printed, the sheet is the call sheet: A4 landscape, fit to the page width, the header row on
every page, the `CALL_SHEET` columns only (the context stays on screen; the as-of and model
version go to the page header), page numbers in the footer.
"""

from __future__ import annotations

import pandas as pd
from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from models.risk_list import COLUMNS
from pipeline.exports import texts
from pipeline.exports.cells import (
    LINE_HEIGHT,
    MONEY_FORMAT,
    PERCENT_FORMAT,
    PROSE_PER_DIGIT,
    Cells,
    python_numbers,
    styled,
    text_lines,
    xlsx_texts,
)
from pipeline.exports.tabular import human_frame, text_series
from pipeline.exports.texts import t

# whom, why, what: the columns printed, in the order a caller reads them
CALL_SHEET = ("rank", "client_id", "churn_probability", "risk_band", "expected_value_at_risk", "top_reasons",
              "client_context", "recommended_action", "new_on_list", "previous_rank", "days_on_list")
SHEET_COLUMNS = (*(c for c in CALL_SHEET if c in COLUMNS), *(c for c in COLUMNS if c not in CALL_SHEET))
PRINTED_COLUMNS = sum(c in COLUMNS for c in CALL_SHEET)

NUMBER_FORMATS = {"rank": "0", "previous_rank": "0", "days_on_list": "0", "churn_probability": PERCENT_FORMAT,
                  "monthly_value": MONEY_FORMAT, "expected_value_at_risk": MONEY_FORMAT}
# the band cell strong, the rest of the row a light tint of the same colour
BAND_FILL = {"high": "E88C8C", "medium": "F6C26B", "low": "9FD08C"}
BAND_TINT = {"high": "FBE3E3", "medium": "FDF0D9", "low": "E8F4E3"}

# column widths, in characters: every column within NARROWEST..WIDEST, except the wrapped
# sentences, which may grow to their own limit (a longer text wraps onto a second line)
NARROWEST, WIDEST = 6, 30
SENTENCE_WIDEST = {"top_reasons": 100, "client_context": 48, "recommended_action": 60}
FILTER_BUTTON = 3  # the header's filter arrow covers about this many characters
# A4 landscape: margins in inches, narrow at the sides (width is what the scale is fitted to)
MARGINS = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.25, footer=0.25)


def list_sheet(wb: Workbook, listed: pd.DataFrame, lang: str, as_of: str, model_version: str) -> None:
    ws = wb.create_sheet(t("sheet_list", lang))
    cells = Cells(ws)
    human = human_frame(listed, lang)
    rows = len(listed) + 1
    widths = column_widths(listed, human, lang)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    lines = row_lines(human, lang, widths)
    for row, count in enumerate(lines, start=1):
        if count > 1:
            ws.row_dimensions[row].height = count * LINE_HEIGHT
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(SHEET_COLUMNS))}{rows}"
    _print_setup(ws, rows, lang, as_of, model_version)
    if len(listed):
        _tint_rows_by_band(ws, rows, lang)
    ws.append(cells.header(*(texts.header(c, lang) for c in SHEET_COLUMNS)))
    for row in zip(*_columns(ws, cells, listed, human, [count > 1 for count in lines[1:]])):
        ws.append(list(row))


def column_widths(listed: pd.DataFrame, human: pd.DataFrame, lang: str) -> list[float]:
    """One width per sheet column: its longest shown value, within bounds, and room for the
    longest word of its header beside the filter arrow."""
    widths = []
    for column in SHEET_COLUMNS:
        head = max(len(word) for word in texts.header(column, lang).split()) + FILTER_BUTTON + 1
        longest = _longest_shown(listed[column], human[column], column) + 2
        widest = SENTENCE_WIDEST.get(column, WIDEST)
        widths.append(float(min(max(head, longest, NARROWEST), max(widest, head))))
    return widths


def row_lines(human: pd.DataFrame, lang: str, widths: list[float]) -> list[int]:
    """Lines each row takes, the header first: its tallest wrapped text."""
    text_columns = [(human[c], w) for c, w in zip(SHEET_COLUMNS, widths) if c not in NUMBER_FORMATS]
    header = max(text_lines(texts.header(c, lang), w - FILTER_BUTTON) for c, w in zip(SHEET_COLUMNS, widths))
    lines = pd.Series(1, index=human.index)
    for values, width in text_columns:
        room = max(int(width * PROSE_PER_DIGIT) - 1, 1)
        long = values.str.len() > room  # most texts fit on one line: wrap only the others
        if long.any():
            wrapped = [text_lines(text, width) for text in values[long]]
            lines[long] = [max(a, b) for a, b in zip(lines[long], wrapped)]
    return [header, *lines.tolist()]


def _longest_shown(values: pd.Series, words: pd.Series, column: str) -> int:
    """Characters of the longest value as the sheet shows it (numbers in their display format)."""
    if not len(values):
        return 0
    if column in NUMBER_FORMATS:
        numbers = pd.to_numeric(values, errors="coerce").abs().max()
        if pd.isna(numbers):
            return 0
        if NUMBER_FORMATS[column] == PERCENT_FORMAT:
            return len(f"{100 * numbers:.1f}%")
        if NUMBER_FORMATS[column] == MONEY_FORMAT:
            return len(f"{numbers:,.2f}")
        return len(str(int(numbers)))
    return int(words.str.len().max())


def fit_to_page_width(ws, orientation: str) -> None:
    """Printed on A4, one page wide and as many long as needed: a sheet never splits its columns
    over pages."""
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages long as the content needs
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = MARGINS


def _print_setup(ws, rows: int, lang: str, as_of: str, model_version: str) -> None:
    """The call sheet columns on A4 landscape, the header row on every page."""
    fit_to_page_width(ws, "landscape")
    ws.print_options.gridLines = True  # a line under every client helps the eye across a wide row
    ws.print_title_rows = "1:1"
    ws.print_area = f"A1:{get_column_letter(PRINTED_COLUMNS)}{rows}"
    # "&" starts a header/footer code; a literal one is written "&&"
    ws.oddHeader.center.text = t("print_header", lang, as_of=as_of, version=model_version).replace("&", "&&")
    ws.oddFooter.center.text = t("print_footer", lang)


def _tint_rows_by_band(ws, rows: int, lang: str) -> None:
    """The rest of the row tinted by band through conditional formatting (follows the user's
    sorting, costs nothing per cell); the band cell itself carries a fixed, stronger fill, so it
    is left out of the rule (a conditional fill would cover it)."""
    band_at = SHEET_COLUMNS.index("risk_band") + 1
    band_letter = get_column_letter(band_at)
    tinted = " ".join(f"{get_column_letter(a)}2:{get_column_letter(b)}{rows}"
                      for a, b in ((1, band_at - 1), (band_at + 1, len(SHEET_COLUMNS))) if a <= b)
    for band, colour in BAND_TINT.items():
        word = texts.label(band, lang).replace('"', '""')
        ws.conditional_formatting.add(tinted, FormulaRule(
            formula=[f'${band_letter}2="{word}"'], fill=PatternFill("solid", fgColor=colour, bgColor=colour)))


def _columns(ws, cells: Cells, listed: pd.DataFrame, human: pd.DataFrame, tall: list[bool]) -> list[list]:
    """One list of cells per sheet column: numbers in their formats, band cells filled, the
    sentences (`SENTENCE_WIDEST`) and client ids wrapped. Every cell of a row taller than a line is
    top-aligned beside its wrapped neighbour; the short texts of a one-line row stay plain strings
    (a styled cell each doubles the time to write a list of 100k rows)."""
    top = Alignment(vertical="top")
    templates = {c: cells.number(0, f) for c, f in NUMBER_FORMATS.items()}
    for template in templates.values():
        template.alignment = top
    text = cells.text("", wrap=True)
    band_templates = {b: cells.text("", fill=PatternFill("solid", fgColor=c), font=cells.bold, wrap=True)
                      for b, c in BAND_FILL.items()}
    bands = text_series(listed["risk_band"]).tolist()
    columns = []
    for column in SHEET_COLUMNS:
        if column in NUMBER_FORMATS:
            columns.append([None if v is None else styled(ws, v, templates[column])
                            for v in python_numbers(listed[column])])
        elif column == "risk_band":
            columns.append([None if word is None else styled(ws, word, band_templates.get(band, text))
                            for word, band in zip(xlsx_texts(human[column]), bands)])
        else:
            # neutralised, so openpyxl stores every one as a string (it reads a leading "=" as a formula)
            always = column in SENTENCE_WIDEST or column == "client_id"
            columns.append([styled(ws, word, text) if word is not None and (always or high) else word
                            for word, high in zip(xlsx_texts(human[column]), tall)])
    return columns
