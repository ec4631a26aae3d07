"""The list as tables: Parquet for machines, CSV for people, and the text rules both share.

- `risk_list.parquet`: canonical column names and code values (the next run reads the previous
  list from it); deterministic bytes.
- `risk_list.csv`: UTF-8 with BOM, "\\n" line ends, headers and code values in the chosen
  language, probabilities as plain decimals (0.123456), money with two decimals. Separators are
  what each language's Excel expects when the file is opened by double-click: `,` and `.` in
  English, `;` and a decimal comma in Spanish (`CSV_LAYOUT`).

Every text cell a spreadsheet could read as a formula (leading =, +, -, @, tab, carriage
return) gets a leading apostrophe: `neutralise` here, used by the CSV and the XLSX alike.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.risk_list import COLUMNS
from pipeline.exports import texts

_ARROW_TYPES = {
    "client_id": pa.string(), "rank": pa.int64(), "churn_probability": pa.float64(), "risk_band": pa.string(),
    "monthly_value": pa.float64(), "expected_value_at_risk": pa.float64(), "nps_group": pa.string(),
    "loyalty_stage": pa.string(), "value_quadrant": pa.string(), "top_reasons": pa.string(),
    "client_context": pa.string(), "recommended_action": pa.string(), "previous_rank": pa.int64(),
    "new_on_list": pa.bool_(), "on_list_since": pa.string(), "days_on_list": pa.int64(), "model_version": pa.string(),
    "as_of": pa.string(),
}
PARQUET_SCHEMA = pa.schema([(c, _ARROW_TYPES[c]) for c in COLUMNS])

MONEY_COLUMNS = ("monthly_value", "expected_value_at_risk")
INTEGER_COLUMNS = ("rank", "previous_rank", "days_on_list")
# columns written as they are, only neutralised (codes are translated, new_on_list reads yes/no)
_FREE_TEXT_COLUMNS = ("client_id", "top_reasons", "client_context", "recommended_action", "on_list_since",
                      "model_version", "as_of")

# (field separator, decimal mark) per language: a Spanish Excel splits on ";" and reads "0,5" as a
# number; with "," it would open the whole file in one column
CSV_LAYOUT = {"en": (",", "."), "es": (";", ",")}

# spreadsheet formula triggers (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """Prefix a text a spreadsheet would run as a formula with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_START) else text


def neutralise_series(values: pd.Series) -> pd.Series:
    """`neutralise` on every value of a column, as text."""
    values = values.astype(str)
    risky = values.str.startswith(FORMULA_START)
    return values.where(~risky, "'" + values)


def text_series(values: pd.Series) -> pd.Series:
    """A column as text, missing values as ""."""
    return values.astype(object).where(values.notna(), "").astype(str)


def _translate(values: pd.Series, lang: str) -> pd.Series:
    codes = text_series(values)
    words = {code: texts.label(code, lang) for code in codes.unique()}
    return codes.map(words)


def _yes_no(values: pd.Series, lang: str) -> pd.Series:
    return values.astype(bool).map({True: texts.label("yes", lang), False: texts.label("no", lang)})


def human_frame(listed: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Text columns as people read them: codes translated, yes/no, formula triggers neutralised.
    Numeric columns are left as they are."""
    columns = {}
    for column in COLUMNS:
        values = listed[column]
        if column in texts.CODE_COLUMNS:
            values = _translate(values, lang)
        elif column == "new_on_list":
            values = _yes_no(values, lang)
        elif column in _FREE_TEXT_COLUMNS:
            values = text_series(values)
        else:
            columns[column] = values
            continue
        columns[column] = neutralise_series(values)
    return pd.DataFrame(columns, index=listed.index)


def parquet_bytes(listed: pd.DataFrame) -> bytes:
    """Canonical names and codes, a fixed schema (an empty or value-less list keeps its types)."""
    frame = listed[list(COLUMNS)].assign(client_id=listed["client_id"].astype(str))
    table = pa.Table.from_pandas(frame, schema=PARQUET_SCHEMA, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=3)
    return sink.getvalue().to_pybytes()


def _plain_decimal(value: float, mark: str = ".") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # never scientific notation: 1e-06 reads as text in Excel
    return np.format_float_positional(float(value), precision=6, trim="-").replace(".", mark)


def _money(value: float, mark: str = ".") -> str:
    # no thousands separator: "1234,50" reads as one number whatever the reader's locale
    return "" if math.isnan(value) else f"{value:.2f}".replace(".", mark)


def csv_bytes(listed: pd.DataFrame, lang: str) -> bytes:
    separator, mark = CSV_LAYOUT[texts.check_lang(lang)]
    human = human_frame(listed, lang)
    columns = {}
    for column in COLUMNS:
        values = human[column]
        if column == "churn_probability":
            values = [_plain_decimal(v, mark) for v in values.to_numpy(dtype=float)]
        elif column in MONEY_COLUMNS:
            values = [_money(v, mark) for v in values.to_numpy(dtype=float)]
        elif column in INTEGER_COLUMNS:
            values = ["" if pd.isna(v) else str(int(v)) for v in values.tolist()]
        columns[texts.header(column, lang)] = values
    frame = pd.DataFrame(columns, columns=[texts.header(c, lang) for c in COLUMNS])
    text = frame.to_csv(index=False, sep=separator, lineterminator="\n")
    # utf-8 with BOM: Excel then reads accents right when the file is opened by double-click
    return text.encode("utf-8-sig")
