"""Values as the contract reads them: text, times, numbers, and the limits a text value must keep.

- Text is trimmed, empty counts as missing, and a categorical is worked once per distinct value.
  No step turns data text into a NumPy fixed-width array (`astype(str)` on an object array): its
  memory is distinct values x the longest value, gigabytes from one 64 KB id.
- Limits (`Limits`: `data.max_text_length`, `data.max_comment_length`) are measured on the
  string data as read, before any other work: a longer value, or one holding a control character
  (NUL and the like), sets its row aside and is blanked for the checks that follow.
- Numbers follow the file's decimal mark (`DECIMAL` in a frame's `attrs`, set by the reader):
  * a CSV separated by ';' is a spreadsheet's in a decimal-comma locale: ',' is the decimal mark
    and '.' only groups thousands in threes (2.000 = 2000, 1.234,5 = 1234.5). A column with no
    decimal comma whose '.' cannot group thousands (2.5) is read with a decimal point; then a value
    like 2.000 could be either and is set aside as unclear;
  * anywhere else '.' is the decimal mark; `10,5` is still read as 10.5, but `1,234` (a thousands
    separator or a decimal comma?) is set aside as unclear, and `1,234.5` is 1234.5;
  * a value shaped like a number that breaks its file's rule is unclear, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DECIMAL = "decimal"  # frame.attrs key: "," when the file writes decimal commas
DATE_ONLY = {"signup_date", "churned_at"}
# Datetimes outside this range are data errors (a year 9999 placeholder), not history.
EARLIEST, LATEST = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
ABSURD_NUMBER = 1e15
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # tab, line feed and carriage return are text

_EXPONENT = r"(?:[eE][+-]?\d+)?"
COMMA_FORMS = rf"[+-]?(?:\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:,\d+)?{_EXPONENT}"  # 1.234,5  1234,5  2.000  7
GROUPED_POINT = r"[+-]?\d{1,3}(?:\.\d{3})+"         # 2.000: thousands, or a decimal point?
POINT_DECIMAL = rf"[+-]?\d*\.\d+{_EXPONENT}"        # 2.5
GROUPED_COMMA = r"[+-]?\d{1,3}(?:,\d{3})+"          # 1,234: thousands, or a decimal comma?
COMMA_DECIMAL = r"[+-]?\d+,\d+"                     # 10,5
GROUPED_COMMA_POINT = r"[+-]?\d{1,3}(?:,\d{3})+\.\d+"  # 1,234.5
NUMBER_LIKE = rf"[+-]?[\d.,]*\d[\d.,]*{_EXPONENT}"
UNCLEAR = {",": "is not a clear number for a decimal-comma file (write 1.234,5 or 1234,5)",
           ".": "is not a clear number (is 1,234 or 2.000 a thousands separator or a decimal mark?)"}


@dataclass(frozen=True)
class Limits:
    """What one table may hold: the longest text value, in characters (`text` for identifiers, codes,
    attributes and values written as text; `free_text` for free text, `FREE_TEXT_COLUMNS`), and the
    most columns."""

    text: int
    free_text: int
    columns: int

    @staticmethod
    def of(config=None) -> Limits:
        """The limits a `pipeline.config.DataConfig` sets (its defaults when None)."""
        if config is None:
            from pipeline.config import DataConfig  # here: the config imports the models' settings

            config = DataConfig()
        return Limits(config.max_text_length, config.max_comment_length, config.max_columns)


def _matches(text: pd.Series, pattern: str) -> np.ndarray:
    return text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)


def _per_row(values: pd.Series, per_category: np.ndarray) -> np.ndarray:
    return np.r_[per_category, False][values.cat.codes.to_numpy()]


def text_breaks(values: pd.Series, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(longer than `limit`, holds a control character) per row, measured without converting the
    text; None for a column that holds no text."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        found = text_breaks(pd.Series(values.cat.categories, dtype=object), limit)
        return None if found is None else (_per_row(values, found[0]), _per_row(values, found[1]))
    if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
        return None
    try:
        lengths = values.str.len()
    except AttributeError:  # an object column of numbers, dates or bytes
        return None
    too_long = (lengths > limit).fillna(False).to_numpy(dtype=bool)
    control = values.where(~too_long).str.contains(CONTROL, regex=True)
    return too_long, control.fillna(False).to_numpy(dtype=bool)


def blank(values: pd.Series, mask: np.ndarray) -> pd.Series:
    """The values with those rows missing (a categorical drops the categories no row uses)."""
    out = values.mask(pd.Series(mask, index=values.index))
    return out.cat.remove_unused_categories() if isinstance(out.dtype, pd.CategoricalDtype) else out


def text(values: pd.Series) -> pd.Series:
    """Trimmed text with empty strings as missing, whatever the stored type.

    Dictionary-encoded columns stay categorical: the work is done once per distinct value,
    not once per row (an events log repeats a handful of types millions of times).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        stripped = pd.Series(values.cat.categories).astype("string").str.strip()
        per_category, uniques = pd.factorize(stripped.mask(stripped == ""), sort=True)
        codes = np.r_[per_category, -1][values.cat.codes.to_numpy()]
        return pd.Series(pd.Categorical.from_codes(codes, categories=uniques.astype("str")), index=values.index)
    if pd.api.types.is_float_dtype(values):
        # ids stored as floats by a spreadsheet (123.0) are meant as 123
        filled = values.dropna()
        if (filled == np.floor(filled)).all():
            values = values.astype("Int64")
    trimmed = values.astype("string").str.strip()
    return trimmed.mask(trimmed == "")


def parse_time(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(naive UTC datetime64[ns], unparseable mask, out-of-range mask)."""
    present = values.notna()
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
    else:
        written = values if pd.api.types.is_string_dtype(values) else values.astype("string")
        parsed = pd.to_datetime(written, utc=True, errors="coerce", format="ISO8601").dt.tz_localize(None)
    unparseable = present & parsed.isna()
    out_of_range = parsed.notna() & ((parsed < EARLIEST) | (parsed >= LATEST))
    parsed = parsed.mask(out_of_range).astype("datetime64[ns]")
    return parsed, unparseable, out_of_range


@dataclass(frozen=True)
class Numbers:
    value: pd.Series          # float64, missing where any mask below holds
    unparseable: pd.Series    # not a number at all
    unclear: pd.Series        # shaped like a number, but its decimal mark cannot be told
    absurd: pd.Series         # not finite, or beyond ABSURD_NUMBER
    why_unclear: str = ""     # the reason an unclear value is set aside


def number(values: pd.Series, decimal: str = ".") -> Numbers:
    """Numbers under the file's decimal mark (see the module's rule)."""
    present = values.notna()
    none = pd.Series(False, index=values.index)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.infer_dtype(values, skipna=True) == "boolean":
        # true/false is not a number: written as CSV text it is rejected, so a Parquet boolean is too
        return Numbers(pd.Series(np.nan, index=values.index), present, none, none)
    if pd.api.types.is_numeric_dtype(values):
        value, unclear = values.astype("float64"), np.zeros(len(values), dtype=bool)
    else:
        written = values.astype("string").str.strip()
        comma = decimal == "," and not _point_column(written)
        if comma:
            value, unclear = _comma_numbers(written)
        else:
            value, unclear = _point_numbers(written, grouped_point_unclear=decimal == ",")
        decimal = "," if comma else "."
    unclear = pd.Series(unclear, index=values.index)
    unparseable = present & value.isna() & ~unclear
    absurd = value.notna() & (~np.isfinite(value.fillna(0)) | (value.abs() > ABSURD_NUMBER))
    return Numbers(value.mask(unparseable | unclear | absurd), unparseable, unclear, absurd, UNCLEAR[decimal])


def _numeric(written: pd.Series) -> pd.Series:
    parsed = pd.to_numeric(written, errors="coerce")
    return pd.Series(np.asarray(parsed.to_numpy(dtype="float64", na_value=np.nan)), index=written.index)


def _point_column(written: pd.Series) -> bool:
    """In a decimal-comma file, a column written with decimal points: no decimal comma anywhere and
    some '.' that cannot group thousands."""
    has_comma = written.str.contains(",", regex=False).fillna(False).any()
    return not has_comma and bool((_matches(written, POINT_DECIMAL) & ~_matches(written, GROUPED_POINT)).any())


def _comma_numbers(written: pd.Series) -> tuple[pd.Series, np.ndarray]:
    valid = _matches(written, COMMA_FORMS)
    canonical = written.where(valid).str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return _numeric(canonical), ~valid & _matches(written, NUMBER_LIKE)


def _point_numbers(written: pd.Series, grouped_point_unclear: bool) -> tuple[pd.Series, np.ndarray]:
    value = _numeric(written)
    unclear = _matches(written, GROUPED_POINT) if grouped_point_unclear else np.zeros(len(written), dtype=bool)
    failed = (value.isna() & written.notna()).to_numpy()
    if not failed.any():  # the common case: every value read by to_numeric, no comma to look at
        return value, unclear
    grouped = failed & _matches(written, GROUPED_COMMA)
    comma = failed & _matches(written, COMMA_DECIMAL) & ~grouped
    thousands = failed & _matches(written, GROUPED_COMMA_POINT)
    if comma.any():
        value = value.mask(comma, _numeric(written.where(comma).str.replace(",", ".", regex=False)))
    if thousands.any():
        value = value.mask(thousands, _numeric(written.where(thousands).str.replace(",", "", regex=False)))
    return value, unclear | grouped


def attribute(values: pd.Series, decimal: str = ".") -> pd.Series:
    """A static client attribute: numeric when every filled value is a clear number, else text."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    trimmed = text(values)
    if isinstance(trimmed.dtype, pd.CategoricalDtype):
        trimmed = trimmed.astype(object).where(trimmed.notna(), None)
    parsed = number(trimmed, decimal)
    filled = int(trimmed.notna().sum())
    if filled and int(parsed.value.notna().sum()) == filled:
        return parsed.value
    return trimmed
