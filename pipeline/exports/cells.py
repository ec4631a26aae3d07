"""Cells of a write-only openpyxl sheet, shared by every sheet of the workbook.

Every text is cleaned of characters XML cannot hold, neutralised (`tabular.neutralise`) and
stored as a string, never as a formula; numbers carry their display format.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill

from pipeline.exports.tabular import neutralise, neutralise_series

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
COUNT_FORMAT = "#,##0"
# the workbook's own font: a Font without a name falls back to the reader's default (a serif
# in LibreOffice), so bold cells would change typeface
FONT = "Calibri"
# neither Excel nor LibreOffice fits a row's height to wrapped text when it opens a file: each
# row that wraps gets its height written, LINE_HEIGHT points a line (Calibri 11, Excel's default)
LINE_HEIGHT = 15.0
PROSE_PER_DIGIT = 1.1


def clean_text(text: str) -> str:
    """XML cannot hold most control characters; dropping one may expose a formula trigger."""
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", text))


def xlsx_texts(values: pd.Series) -> list[str | None]:
    """Cell texts for a column; "" becomes None, a blank cell rather than an empty string."""
    clean = neutralise_series(values.astype(str).str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True))
    return [text or None for text in clean.tolist()]


def text_lines(text: str, width: float) -> int:
    """Lines a text takes wrapped at spaces in a column `width` wide. A width counts digits; a
    line of prose holds about 1.2 (Calibri in Excel) to 1.3 (DejaVu Sans in LibreOffice) times
    as many letters and spaces: counting PROSE_PER_DIGIT leaves a margin, so no line is cut off."""
    room = max(int(width * PROSE_PER_DIGIT) - 1, 1)
    return max(len(textwrap.wrap(text, room)), 1) if len(text) > room else 1


def append_fitted(ws, rows: list[list], widths: list[float], first_row: int) -> None:
    """Append `rows` from sheet row `first_row` on, each as tall as its tallest wrapped text."""
    for at, row in enumerate(rows, start=first_row):
        lines = max([text_lines(str(cell.value), width) for cell, width in zip(row, widths)
                     if cell is not None and cell.alignment.wrap_text and cell.value is not None] or [1])
        if lines > 1:
            ws.row_dimensions[at].height = lines * LINE_HEIGHT
        ws.append(row)


class Cells:
    """Cells for a write-only sheet; every text is neutralised and stored as a string."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.bold = Font(name=FONT, size=11, bold=True)
        self.title = Font(name=FONT, size=14, bold=True)
        self.header_fill = PatternFill("solid", fgColor="D9D9D9")
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def text(self, value: str, *, font: Font | None = None, fill: PatternFill | None = None,
             wrap: bool = False) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, clean_text(str(value)))
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
        """Bold on grey, wrapped at word boundaries: a header narrower than its text shows whole."""
        return [self.text(x, font=self.bold, fill=self.header_fill, wrap=True) for x in labels]

    def section(self, title: str) -> list[list]:
        """A blank row, then the section's title in bold."""
        return [[], [self.text(title, font=self.bold)]]


def styled(ws, value, template: WriteOnlyCell) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    # share the template's style record, as openpyxl's own sheet copy does: setting fonts and
    # fills cell by cell re-hashes them and costs seconds per 10k rows
    cell._style = template._style
    return cell


def python_numbers(values: pd.Series) -> list:
    """numpy / pandas scalars as plain Python numbers (None when missing) for openpyxl."""
    if isinstance(values.dtype, pd.Int64Dtype) or str(values.dtype) == "Int64":
        return [None if v is pd.NA else int(v) for v in values.tolist()]
    array = values.to_numpy(dtype=float, na_value=np.nan)
    if values.dtype.kind in "iu":
        return [int(v) for v in array]
    return [None if math.isnan(v) else float(v) for v in array]
