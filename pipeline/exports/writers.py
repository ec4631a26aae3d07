"""The risk list as files: Parquet for machines, CSV and XLSX for people, one HTML report.

- `risk_list.parquet`: canonical column names and code values (the next run reads the previous
  list from it); deterministic bytes.
- `risk_list.csv`: UTF-8 with BOM, "\\n" line ends, headers and code values in the chosen
  language, probabilities as plain decimals (0.123456), money with two decimals.
- `risk_list.xlsx`: sheets for the list, a summary and column definitions; names, headers and
  code values in the chosen language; zip entries and document dates fixed from as_of, so the
  same input gives the same bytes.
- `risk_report.html`: one self-contained page (inline CSS, charts as base64 PNG).

Every text cell a spreadsheet could read as a formula (leading =, +, -, @, tab, carriage
return) gets a leading apostrophe in the CSV and the XLSX. Every file is written beside its
target under a temporary name and moved into place only when all four are ready.
All words come from `pipeline.exports.texts`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import logging
import math
import os
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.xml.functions import tostring

from models.risk_list import COLUMNS
from models.segments import NPS_GROUPS, RISK_BANDS
from pipeline.exports import texts
from pipeline.exports.texts import t

log = logging.getLogger(__name__)

FILES = {"parquet": "risk_list.parquet", "csv": "risk_list.csv", "xlsx": "risk_list.xlsx",
         "html": "risk_report.html"}

_ARROW_TYPES = {
    "client_id": pa.string(), "rank": pa.int64(), "churn_probability": pa.float64(), "risk_band": pa.string(),
    "monthly_value": pa.float64(), "expected_value_at_risk": pa.float64(), "nps_group": pa.string(),
    "loyalty_stage": pa.string(), "value_quadrant": pa.string(), "top_reasons": pa.string(),
    "recommended_action": pa.string(), "previous_rank": pa.int64(), "new_on_list": pa.bool_(),
    "model_version": pa.string(), "as_of": pa.string(),
}
PARQUET_SCHEMA = pa.schema([(c, _ARROW_TYPES[c]) for c in COLUMNS])

MONEY_COLUMNS = ("monthly_value", "expected_value_at_risk")
INTEGER_COLUMNS = ("rank", "previous_rank")
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"

# spreadsheet formula triggers (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# XLSX: the band cell strong, the rest of the row a light tint of the same colour
BAND_FILL = {"high": "E88C8C", "medium": "F6C26B", "low": "9FD08C"}
BAND_TINT = {"high": "FBE3E3", "medium": "FDF0D9", "low": "E8F4E3"}
# report charts
NPS_COLOUR = {"promoter": "#4e9a4a", "passive": "#9e9e9e", "detractor": "#c0392b", "no answer": "#d6d6d6"}
BAR_COLOUR = "#3b6ea5"
PORTFOLIO_COLOUR = "#b8c4d2"
TOP_ROWS_IN_REPORT = 20


def write_outputs(listed: pd.DataFrame, scored: pd.DataFrame, summary: dict, out: Path,
                  lang: str = "en") -> dict[str, Path]:
    """Write risk_list.parquet, risk_list.csv, risk_list.xlsx and risk_report.html into `out`;
    return {"parquet":..., "csv":..., "xlsx":..., "html":...}."""
    texts.check_lang(lang)
    missing = [c for c in COLUMNS if c not in listed.columns]
    if missing:
        raise ValueError(f"the risk list lacks column(s) {', '.join(missing)}: expected {', '.join(COLUMNS)}")
    if summary.get("lang", lang) != lang:
        log.warning("exports in %r but reasons and actions were written in %r", lang, summary["lang"])
    listed = listed[list(COLUMNS)].reset_index(drop=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "parquet": parquet_bytes(listed),
        "csv": csv_bytes(listed, lang),
        "xlsx": xlsx_bytes(listed, summary, lang),
        "html": report_html(listed, scored, summary, lang).encode("utf-8"),
    }
    paths = {kind: out / FILES[kind] for kind in FILES}
    _publish(contents, paths)
    return paths


def _publish(contents: dict[str, bytes], paths: dict[str, Path]) -> None:
    """Stage every file beside its target, then move them into place: a reader never sees a
    partial file, and a failure leaves the previous set untouched. Parquet moves last because
    the next run reads the previous list from it."""
    staged: dict[str, Path] = {}
    try:
        for kind, data in contents.items():
            target = paths[kind]
            staged[kind] = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
            with open(staged[kind], "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for kind in sorted(staged, key=lambda k: k == "parquet"):
            os.replace(staged[kind], paths[kind])
        staged.clear()
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------- shared helpers

def neutralise(text: str) -> str:
    """Prefix a text a spreadsheet would run as a formula with an apostrophe."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _neutralise_series(values: pd.Series) -> pd.Series:
    values = values.astype(str)
    risky = values.str.startswith(FORMULA_START)
    return values.where(~risky, "'" + values)


def _text_series(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str)


def _translate(values: pd.Series, lang: str) -> pd.Series:
    codes = _text_series(values)
    words = {code: texts.label(code, lang) for code in codes.unique()}
    return codes.map(words)


def _yes_no(values: pd.Series, lang: str) -> pd.Series:
    return values.astype(bool).map({True: texts.label("yes", lang), False: texts.label("no", lang)})


def _human_frame(listed: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Text columns as people read them: codes translated, yes/no, formula triggers neutralised.
    Numeric columns are left as they are."""
    columns = {}
    for column in COLUMNS:
        values = listed[column]
        if column in texts.CODE_COLUMNS:
            values = _translate(values, lang)
        elif column == "new_on_list":
            values = _yes_no(values, lang)
        elif column in ("client_id", "top_reasons", "recommended_action", "model_version", "as_of"):
            values = _text_series(values)
        else:
            columns[column] = values
            continue
        columns[column] = _neutralise_series(values)
    return pd.DataFrame(columns, index=listed.index)


def _order_text(summary: dict, lang: str) -> str:
    by_value = summary.get("sort") == "expected_value_at_risk"
    return t("order_value" if by_value else "order_probability", lang)


def _has_value(summary: dict, listed: pd.DataFrame) -> bool:
    if "has_monthly_value" in summary:
        return bool(summary["has_monthly_value"])
    return bool(listed["monthly_value"].notna().any())


# --------------------------------------------------------------------------------------- parquet

def parquet_bytes(listed: pd.DataFrame) -> bytes:
    """Canonical names and codes, a fixed schema (an empty or value-less list keeps its types)."""
    frame = listed[list(COLUMNS)].assign(client_id=listed["client_id"].astype(str))
    table = pa.Table.from_pandas(frame, schema=PARQUET_SCHEMA, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=3)
    return sink.getvalue().to_pybytes()


# --------------------------------------------------------------------------------------- csv

def _plain_decimal(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # never scientific notation: 1e-06 reads as text in Excel
    return np.format_float_positional(float(value), precision=6, trim="-")


def csv_bytes(listed: pd.DataFrame, lang: str) -> bytes:
    human = _human_frame(listed, lang)
    columns = {}
    for column in COLUMNS:
        values = human[column]
        if column == "churn_probability":
            values = [_plain_decimal(v) for v in values.to_numpy(dtype=float)]
        elif column in MONEY_COLUMNS:
            values = ["" if math.isnan(v) else f"{v:.2f}" for v in values.to_numpy(dtype=float)]
        elif column in INTEGER_COLUMNS:
            values = ["" if pd.isna(v) else str(int(v)) for v in values.tolist()]
        columns[texts.header(column, lang)] = values
    frame = pd.DataFrame(columns, columns=[texts.header(c, lang) for c in COLUMNS])
    text = frame.to_csv(index=False, lineterminator="\n")
    # utf-8 with BOM: Excel then reads accents right when the file is opened by double-click
    return text.encode("utf-8-sig")


# --------------------------------------------------------------------------------------- xlsx

def _fixed_moment(as_of: str | None) -> dt.datetime:
    """The workbook's created/modified time and zip timestamps: as_of at midnight, so reruns match."""
    try:
        moment = dt.datetime.fromisoformat(str(as_of)[:10])
    except ValueError:
        moment = dt.datetime(1980, 1, 1)
    return max(moment, dt.datetime(1980, 1, 1))  # the zip format starts in 1980


def _clean_text(text: str) -> str:
    """XML cannot hold most control characters; dropping one may expose a formula trigger."""
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", text))


def _xlsx_texts(values: pd.Series) -> list[str | None]:
    """Cell texts for the list sheet; "" becomes None, a blank cell rather than an empty string."""
    clean = _neutralise_series(values.astype(str).str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True))
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

    def header(self, *labels: str) -> list[WriteOnlyCell]:
        return [self.text(x, font=self.bold, fill=self.header_fill) for x in labels]


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


def _styled(ws, value, template: WriteOnlyCell) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value)
    # share the template's style record, as openpyxl's own sheet copy does: setting fonts and
    # fills cell by cell re-hashes them and costs seconds per 10k rows
    cell._style = template._style
    return cell


def _list_sheet(wb: Workbook, listed: pd.DataFrame, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_list", lang))
    cells = _Cells(ws)
    human = _human_frame(listed, lang)
    for i, width in enumerate(_widths(human, lang), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    last = f"{get_column_letter(len(COLUMNS))}{len(listed) + 1}"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last}"
    # the rest of the row tinted by band through conditional formatting (follows the user's
    # sorting, costs nothing per cell); the band cell itself carries a fixed, stronger fill,
    # so it is left out of the rule (a conditional fill would cover it)
    band_at = COLUMNS.index("risk_band") + 1
    band_letter = get_column_letter(band_at)
    rows = len(listed) + 1
    tinted = " ".join(f"{get_column_letter(a)}2:{get_column_letter(b)}{rows}"
                      for a, b in ((1, band_at - 1), (band_at + 1, len(COLUMNS))) if a <= b)
    for band, colour in BAND_TINT.items():
        if not len(listed):
            break
        word = texts.label(band, lang).replace('"', '""')
        ws.conditional_formatting.add(tinted, FormulaRule(
            formula=[f'${band_letter}2="{word}"'], fill=PatternFill("solid", fgColor=colour, bgColor=colour)))
    ws.append(cells.header(*(texts.header(c, lang) for c in COLUMNS)))

    formats = {"rank": "0", "previous_rank": "0", "churn_probability": PERCENT_FORMAT,
               "monthly_value": MONEY_FORMAT, "expected_value_at_risk": MONEY_FORMAT}
    templates = {c: cells.number(0, f) for c, f in formats.items()}
    band_templates = {b: cells.text("", fill=PatternFill("solid", fgColor=c), font=cells.bold)
                      for b, c in BAND_FILL.items()}
    bands = _text_series(listed["risk_band"]).tolist()
    columns = []
    for column in COLUMNS:
        if column in formats:
            columns.append([None if v is None else _styled(ws, v, templates[column])
                            for v in _python_numbers(listed[column])])
        elif column == "risk_band":
            columns.append([_styled(ws, text, band_templates[band]) if band in band_templates else text
                            for text, band in zip(_xlsx_texts(human[column]), bands)])
        else:
            # neutralised, so openpyxl stores every one as a string (it reads a leading "=" as a formula)
            columns.append(_xlsx_texts(human[column]))
    for row in zip(*columns):
        ws.append(list(row))


def _python_numbers(values: pd.Series) -> list:
    """numpy / pandas scalars as plain Python numbers (None when missing) for openpyxl."""
    if isinstance(values.dtype, pd.Int64Dtype) or str(values.dtype) == "Int64":
        return [None if v is pd.NA else int(v) for v in values.tolist()]
    array = values.to_numpy(dtype=float, na_value=np.nan)
    if values.dtype.kind in "iu":
        return [int(v) for v in array]
    return [None if math.isnan(v) else float(v) for v in array]


def _summary_rows(summary: dict, listed: pd.DataFrame, lang: str, cells: _Cells) -> list[list]:
    money = lambda v: cells.number(v, MONEY_FORMAT)  # noqa: E731
    count = lambda v: cells.number(v, "#,##0")  # noqa: E731
    share = lambda v: cells.number(v, PERCENT_FORMAT)  # noqa: E731
    text = cells.text
    has_value = _has_value(summary, listed)
    capacity = summary.get("capacity")
    rows: list[list] = [
        [text(t("summary_title", lang), font=cells.title)],
        [text(t("as_of", lang)), text(summary.get("as_of", ""))],
        [text(t("model_version", lang)), text(summary.get("model_version", ""))],
        [text(t("clients_scored", lang)), count(summary["clients_scored"])],
        [text(t("clients_listed", lang)), count(summary["clients_listed"])],
        [text(t("ordered_by", lang)), text(_order_text(summary, lang))],
        [text(t("capacity", lang)), count(capacity) if capacity is not None else text(t("no_limit", lang))],
        [],
        [text(t("value_section", lang, horizon=texts.number(summary["value_horizon_months"], lang)),
              font=cells.bold)],
    ]
    if has_value:
        rows += [[text(t("value_total", lang)), money(summary["value_at_risk_total"])],
                 [text(t("value_listed", lang)), money(summary["value_at_risk_listed"])],
                 [text(t("value_share", lang)), share(summary["value_at_risk_listed_share"])]]
    else:
        rows.append([text(t("value_unknown", lang))])

    rows += [[], [text(t("by_band", lang), font=cells.bold)],
             cells.header(t("segment", lang), t("clients_listed_short", lang), t("value_listed_short", lang),
                          t("clients_all_short", lang), t("value_all_short", lang))]
    portfolio = {row["risk_band"]: row for row in summary["by_band_portfolio"]}
    for row in summary["by_band_listed"]:
        band = row["risk_band"]
        whole = portfolio.get(band, {"clients": 0, "value_at_risk": None})
        rows.append([text(texts.label(band, lang)), count(row["clients"]),
                     money(row["value_at_risk"] if has_value else None), count(whole["clients"]),
                     money(whole["value_at_risk"] if has_value else None)])

    for key, nps in (("nps_section", summary["nps_portfolio"]), ("nps_listed_section", summary["nps_listed"])):
        total = sum(nps[g] for g in NPS_GROUPS)
        score = nps["score"]
        rows += [[], [text(t(key, lang), font=cells.bold)],
                 [text(t("nps_score", lang)),
                  cells.number(score, "0.0") if score is not None else text(t("nps_nobody", lang))],
                 [text(t("nps_answered", lang)), count(nps["answered"])],
                 cells.header(t("nps_group", lang), t("clients", lang), t("share", lang))]
        rows += [[text(texts.label(g, lang)), count(nps[g]), share(nps[g] / total if total else None)]
                 for g in NPS_GROUPS]
    rows.append([text(t("nps_explained", lang))])

    rows += [[], [text(t("reasons_section", lang), font=cells.bold)]]
    if summary["top_reasons"]:
        rows.append(cells.header(t("reason", lang), t("clients", lang)))
        rows += [[text(r["reason"]), count(r["clients"])] for r in summary["top_reasons"]]
    else:
        rows.append([text(t("no_reasons", lang))])

    rows += [[], [text(t("cost_section", lang), font=cells.bold)],
             [text(t("cost_ratio", lang)), cells.number(summary["acquisition_to_retention_cost_ratio"], "0.0")],
             [text(t("cost_per_client", lang)), money(summary["retention_cost_per_client"])],
             [text(t("expected_churners", lang)), cells.number(summary["expected_churners"], "#,##0.0")],
             [text(t("replacement_cost", lang)), money(summary["replacement_cost"])],
             [text(t("retention_cost_listed", lang)), money(summary["retention_cost_listed"])],
             [text(_cost_sentence(summary, lang))]]

    rows += [[], [text(t("actions_section", lang), font=cells.bold)]]
    if summary["actions"]:
        rows.append(cells.header(t("action", lang), t("clients", lang), t("action_capacity", lang)))
        rows += [[text(a["action"]), count(a["clients"]),
                  count(a["capacity"]) if a.get("capacity") is not None else text(t("no_limit", lang))]
                 for a in summary["actions"]]
    else:
        rows.append([text(t("no_actions", lang))])

    segments = [("by_loyalty", "by_loyalty_listed", "loyalty_stage")]
    if has_value:
        segments.insert(0, ("by_quadrant", "by_quadrant_listed", "value_quadrant"))
    for title, key, column in segments:
        rows += [[], [text(t(title, lang), font=cells.bold)],
                 cells.header(t("segment", lang), t("clients", lang), t("value_at_risk", lang))]
        rows += [[text(texts.label(r[column], lang)), count(r["clients"]),
                  money(r["value_at_risk"] if has_value else None)] for r in summary[key]]

    rows += [[], [text(t("changes_section", lang), font=cells.bold)]]
    changes = summary["changes"]
    if changes.get("previous_available"):
        rows += [[text(t(k, lang)), count(changes.get(k, 0))]
                 for k in ("new_on_list", "left_list", "moved_up", "moved_down")]
    else:
        rows.append([text(t("no_previous", lang))])
    return rows


def _ratio_text(ratio: float, lang: str) -> str:
    return texts.number(ratio, lang, 0 if float(ratio).is_integer() else 1)


def _cost_sentence(summary: dict, lang: str) -> str:
    return t("cost_sentence", lang, ratio=_ratio_text(summary["acquisition_to_retention_cost_ratio"], lang),
             churners=texts.number(summary["expected_churners"], lang, 1),
             replacement=texts.number(summary["replacement_cost"], lang, 2),
             retention=texts.number(summary["retention_cost_listed"], lang, 2),
             listed=texts.number(summary["clients_listed"], lang))


def _summary_sheet(wb: Workbook, summary: dict, listed: pd.DataFrame, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_summary", lang))
    for letter, width in zip("ABCDE", (70, 18, 20, 18, 20)):
        ws.column_dimensions[letter].width = width
    for row in _summary_rows(summary, listed, lang, _Cells(ws)):
        ws.append(row)


def _definitions_sheet(wb: Workbook, summary: dict, lang: str) -> None:
    ws = wb.create_sheet(t("sheet_definitions", lang))
    cells = _Cells(ws)
    for letter, width in zip("ABC", (28, 26, 100)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    ws.append(cells.header(t("definitions_column", lang), t("definitions_field", lang),
                           t("definitions_meaning", lang)))
    horizon = texts.number(summary.get("value_horizon_months", 12), lang)
    for column in COLUMNS:
        meaning = texts.definition(column, lang, horizon=horizon, order=_order_text(summary, lang))
        ws.append([cells.text(texts.header(column, lang), font=cells.bold), cells.text(column),
                   cells.text(meaning, wrap=True)])


def xlsx_bytes(listed: pd.DataFrame, summary: dict, lang: str) -> bytes:
    # write-only: rows stream to disk, so a list of every client (100k rows) stays cheap
    wb = Workbook(write_only=True)
    moment = _fixed_moment(summary.get("as_of"))
    wb.properties.creator = "churn-pipeline"
    wb.properties.title = t("report_title", lang)
    wb.properties.created = moment
    wb.properties.language = lang
    _list_sheet(wb, listed, lang)
    _summary_sheet(wb, summary, listed, lang)
    _definitions_sheet(wb, summary, lang)
    buffer = io.BytesIO()
    wb.save(buffer)
    # openpyxl stamps "modified" with the clock, and zip entries with the time of writing
    wb.properties.modified = moment
    return _normalised_zip(buffer.getvalue(), moment, {"docProps/core.xml": tostring(wb.properties.to_tree())})


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


# --------------------------------------------------------------------------------------- html report

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#222;
max-width:1100px;margin:0 auto;padding:1.5rem;line-height:1.45;background:#fff}
header{border-bottom:2px solid #3b6ea5;margin-bottom:1rem}
h1{margin:0 0 .2rem;font-size:1.7rem}h2{font-size:1.25rem;margin:2rem 0 .5rem;color:#1f3f66}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
.meta{color:#555;margin:0 0 .8rem}
.kpis{display:flex;flex-wrap:wrap;gap:.8rem;margin:0 0 1rem;padding:0}
.kpi{background:#f3f6fa;border-radius:6px;padding:.5rem .9rem;min-width:10rem}
.kpi dt{font-size:.8rem;color:#555}.kpi dd{margin:0;font-size:1.15rem;font-weight:600}
figure{margin:.5rem 0}img{max-width:100%;height:auto}
figcaption,.caption{color:#555;font-size:.9rem}
.note{background:#fff8e1;border-left:4px solid #e69b22;padding:.4rem .8rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef1f5}td.n{text-align:right;white-space:nowrap}
.band-high{background:#fbe3e3}.band-medium{background:#fdf0d9}.band-low{background:#e8f4e3}
footer{margin-top:2rem;color:#777;font-size:.85rem}
"""


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)
    # no Software/date metadata: the same data gives the same bytes
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'data:image/png;base64,{encoded}'


def _plot_text(text: str, limit: int = 60) -> str:
    """Data text on a chart: plain (no mathtext from a "$"), cut to fit."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def _histogram(probability: np.ndarray, lang: str) -> str:
    fig, ax = _figure(8, 3.2)
    ax.hist(probability, bins=np.linspace(0, 1, 21), color=BAR_COLOUR, edgecolor="white")
    ax.set_xlim(0, 1)
    ax.set_xlabel(t("distribution_x", lang))
    ax.set_ylabel(t("distribution_y", lang))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(lambda x, _: texts.percent(x, lang, 0))
    return _png(fig)


def _band_chart(summary: dict, lang: str) -> str:
    listed = {r["risk_band"]: r["value_at_risk"] for r in summary["by_band_listed"]}
    whole = {r["risk_band"]: r["value_at_risk"] for r in summary["by_band_portfolio"]}
    fig, ax = _figure(8, 3.2)
    x = np.arange(len(RISK_BANDS))
    ax.bar(x - 0.2, [whole.get(b, 0) for b in RISK_BANDS], 0.4, color=PORTFOLIO_COLOUR, label=t("series_all", lang))
    ax.bar(x + 0.2, [listed.get(b, 0) for b in RISK_BANDS], 0.4, color=BAR_COLOUR, label=t("series_listed", lang))
    ax.set_xticks(x, [texts.label(b, lang) for b in RISK_BANDS])
    ax.set_ylabel(t("value_at_risk", lang))
    ax.yaxis.set_major_formatter(lambda v, _: texts.number(v, lang))
    ax.legend(frameon=False)
    return _png(fig)


def _horizontal_bars(labels: list[str], values: list[float], colours, xlabel: str, lang: str) -> str:
    fig, ax = _figure(8, 0.8 + 0.38 * max(len(labels), 1))
    y = np.arange(len(labels))[::-1]  # first item on top
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, [_plot_text(label) for label in labels])
    ax.set_xlabel(xlabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(lambda v, _: texts.number(v, lang))
    return _png(fig)


def _img(src: str, alt: str) -> str:
    return f'<img src="{src}" alt="{html.escape(alt)}">'


def _table(head: list[str], rows: list[list[tuple[str, bool]]], row_classes: list[str] | None = None) -> str:
    """rows of (text, is_number) cells; every text is escaped here."""
    parts = ["<table><thead><tr>", *(f"<th>{html.escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        cls = f' class="{html.escape(row_classes[i])}"' if row_classes else ""
        parts.append(f"<tr{cls}>")
        parts += [f'<td class="n">{html.escape(v)}</td>' if number else f"<td>{html.escape(v)}</td>"
                  for v, number in row]
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _section(title: str, *body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(body)}</section>"


def _p(text: str, cls: str = "") -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f"<p{attribute}>{html.escape(text)}</p>"


def _nps_text(nps: dict, lang: str) -> str:
    return t("nps_nobody", lang) if nps["score"] is None else texts.number(nps["score"], lang, 1)


def report_html(listed: pd.DataFrame, scored: pd.DataFrame, summary: dict, lang: str) -> str:
    texts.check_lang(lang)
    has_value = _has_value(summary, listed)
    num = lambda v, d=0: (texts.number(v, lang, d), True)  # noqa: E731
    money = lambda v: (texts.number(v, lang, 2) if has_value and v is not None else "", True)  # noqa: E731

    # header
    if has_value and summary.get("value_at_risk_total") is not None:
        covered = t("value_covered_text", lang, listed=texts.number(summary["value_at_risk_listed"], lang, 2),
                    total=texts.number(summary["value_at_risk_total"], lang, 2),
                    share=texts.percent(summary.get("value_at_risk_listed_share"), lang) or "-")
    else:
        covered = t("value_unknown_short", lang)
    kpis = [(t("clients_scored", lang), texts.number(summary["clients_scored"], lang)),
            (t("clients_listed", lang), texts.number(summary["clients_listed"], lang)),
            (t("value_covered", lang), covered),
            (t("nps_section", lang), _nps_text(summary["nps_portfolio"], lang))]
    header = ("<header>"
              f"<h1>{html.escape(t('report_title', lang))}</h1>"
              + _p(t("report_meta", lang, as_of=summary.get("as_of", ""), version=summary.get("model_version", "")),
                   "meta")
              + '<dl class="kpis">'
              + "".join(f'<div class="kpi"><dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd></div>' for k, v in kpis)
              + "</dl></header>")

    sections = []

    # score distribution
    probability = pd.to_numeric(scored["churn_probability"], errors="coerce").dropna().to_numpy(dtype=float)
    if len(probability):
        caption = t("distribution_caption", lang, clients=texts.number(len(probability), lang))
        body = (f"<figure>{_img(_histogram(probability, lang), t('distribution_title', lang))}"
                f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    else:
        body = _p(t("no_scored", lang), "note")
    sections.append(_section(t("distribution_title", lang), body))

    # value at risk by band
    portfolio = {r["risk_band"]: r for r in summary["by_band_portfolio"]}
    band_rows = [[(texts.label(r["risk_band"], lang), False), num(r["clients"]), money(r["value_at_risk"]),
                  num(portfolio.get(r["risk_band"], {}).get("clients", 0)),
                  money(portfolio.get(r["risk_band"], {}).get("value_at_risk"))]
                 for r in summary["by_band_listed"]]
    band_table = _table([t("segment", lang), t("clients_listed_short", lang), t("value_listed_short", lang),
                         t("clients_all_short", lang), t("value_all_short", lang)], band_rows,
                        [f"band-{r['risk_band']}" for r in summary["by_band_listed"]])
    if has_value:
        body = (f"<figure>{_img(_band_chart(summary, lang), t('band_title', lang))}"
                f"<figcaption>{html.escape(t('band_caption', lang))}</figcaption></figure>" + band_table)
    else:
        body = _p(t("value_chart_skipped", lang), "note") + band_table
    sections.append(_section(t("band_title", lang), body))

    # value at risk by segment
    parts = [] if has_value else [_p(t("value_chart_skipped", lang), "note")]
    segments = [("quadrant_caption", "by_quadrant_listed", "value_quadrant"),
                ("loyalty_caption", "by_loyalty_listed", "loyalty_stage")]
    for caption, key, column in segments:
        rows = summary[key]
        if column == "value_quadrant" and not has_value:
            continue  # every quadrant is blank without value
        labels = [texts.label(r[column], lang) for r in rows]
        parts.append(f"<h3>{html.escape(t(caption, lang))}</h3>")
        if has_value and rows:
            chart = _horizontal_bars(labels, [r["value_at_risk"] for r in rows], BAR_COLOUR,
                                     t("value_at_risk", lang), lang)
            parts.append(f"<figure>{_img(chart, t(caption, lang))}</figure>")
        parts.append(_table([t("segment", lang), t("clients", lang), t("value_at_risk", lang)],
                            [[(label, False), num(r["clients"]), money(r["value_at_risk"])]
                             for label, r in zip(labels, rows)]))
    sections.append(_section(t("segment_title", lang), *parts))

    # reasons
    reasons = summary["top_reasons"]
    if reasons:
        chart = _horizontal_bars([r["reason"] for r in reasons], [r["clients"] for r in reasons], BAR_COLOUR,
                                 t("clients", lang), lang)
        body = (f"<figure>{_img(chart, t('reasons_title', lang))}"
                f"<figcaption>{html.escape(t('reasons_caption', lang))}</figcaption></figure>"
                + _table([t("reason", lang), t("clients", lang)],
                         [[(r["reason"], False), num(r["clients"])] for r in reasons]))
    else:
        body = _p(t("no_reasons", lang), "note")
    sections.append(_section(t("reasons_title", lang), body))

    # NPS mix of the listed clients
    nps = summary["nps_listed"]
    total = sum(nps[g] for g in NPS_GROUPS)
    caption = t("nps_caption", lang, listed=_nps_text(nps, lang),
                portfolio=_nps_text(summary["nps_portfolio"], lang))
    nps_table = _table([t("nps_group", lang), t("clients", lang), t("share", lang)],
                       [[(texts.label(g, lang), False), num(nps[g]),
                         (texts.percent(nps[g] / total, lang) if total else "", True)] for g in NPS_GROUPS])
    if total:
        chart = _horizontal_bars([texts.label(g, lang) for g in NPS_GROUPS], [nps[g] for g in NPS_GROUPS],
                                 [NPS_COLOUR[g] for g in NPS_GROUPS], t("clients", lang), lang)
        body = f"<figure>{_img(chart, t('nps_title', lang))}<figcaption>{html.escape(caption)}</figcaption></figure>"
    else:
        body = _p(t("empty_list", lang), "note")
    sections.append(_section(t("nps_title", lang), body, nps_table, _p(t("nps_explained", lang), "caption")))

    # cost of losing vs keeping
    cost_rows = [[(t("cost_ratio", lang), False),
                  (_ratio_text(summary["acquisition_to_retention_cost_ratio"], lang), True)],
                 [(t("cost_per_client", lang), False), num(summary["retention_cost_per_client"], 2)],
                 [(t("expected_churners", lang), False), num(summary["expected_churners"], 1)],
                 [(t("replacement_cost", lang), False), num(summary["replacement_cost"], 2)],
                 [(t("retention_cost_listed", lang), False), num(summary["retention_cost_listed"], 2)]]
    sections.append(_section(t("cost_title", lang), _p(_cost_sentence(summary, lang)),
                             _table(["", ""], cost_rows)))

    # actions
    if summary["actions"]:
        body = _table([t("action", lang), t("clients", lang), t("action_capacity", lang)],
                      [[(a["action"], False), num(a["clients"]),
                        num(a["capacity"]) if a.get("capacity") is not None else (t("no_limit", lang), True)]
                       for a in summary["actions"]])
    else:
        body = _p(t("no_actions", lang), "note")
    sections.append(_section(t("actions_title", lang), body))

    # changes since the previous list
    changes = summary["changes"]
    if changes.get("previous_available"):
        body = _table(["", t("clients", lang)], [[(t(k, lang), False), num(changes.get(k, 0))]
                                                  for k in ("new_on_list", "left_list", "moved_up", "moved_down")])
    else:
        body = _p(t("no_previous", lang), "note")
    sections.append(_section(t("changes_title", lang), body))

    # top of the list
    if len(listed):
        top = listed.head(TOP_ROWS_IN_REPORT)
        columns = ("rank", "client_id", "churn_probability", "risk_band", "expected_value_at_risk", "top_reasons",
                   "recommended_action", "new_on_list")
        rows = []
        for _, r in top.iterrows():
            value = r["expected_value_at_risk"]
            rows.append([num(int(r["rank"])), (str(r["client_id"]), False),
                         (texts.percent(float(r["churn_probability"]), lang), True),
                         (texts.label(str(r["risk_band"]), lang), False),
                         money(None if pd.isna(value) else float(value)),
                         ("" if pd.isna(r["top_reasons"]) else str(r["top_reasons"]), False),
                         ("" if pd.isna(r["recommended_action"]) else str(r["recommended_action"]), False),
                         (texts.label("yes" if bool(r["new_on_list"]) else "no", lang), False)])
        body = (_p(t("top_caption", lang, shown=texts.number(len(top), lang),
                     listed=texts.number(len(listed), lang)), "caption")
                + _table([texts.header(c, lang) for c in columns], rows,
                         [f"band-{b}" for b in top["risk_band"].astype(str)]))
    else:
        body = _p(t("empty_list", lang), "note")
    sections.append(_section(t("top_title", lang), body))

    footer = f"<footer>{html.escape(t('footer', lang))}</footer>"
    return ("<!DOCTYPE html>\n"
            f'<html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(t('report_title', lang))} {html.escape(str(summary.get('as_of', '')))}</title>"
            f"<style>{_CSS}</style></head><body>\n"
            + header + "\n" + "\n".join(sections) + "\n" + footer + "\n</body></html>\n")
