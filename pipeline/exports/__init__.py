"""The risk list as files people and machines read, and the pages of a model's figures.

- `write_outputs(listed, scored, summary, out, lang)`: risk_list.parquet / .csv / .xlsx and
  risk_report.html, all four or none (`FILES` names them).
- `parquet_bytes`, `csv_bytes`, `xlsx_bytes`, `report_html`: each file's content on its own.
- `charts`: every chart as PNG bytes (the report's and the training plots);
  `evaluation_page`: the HTML page of a training or evaluation run.
- `texts`: every user-facing word, English and Spanish.
"""

from pipeline.exports import charts, texts
from pipeline.exports.outputs import FILES, write_outputs
from pipeline.exports.pages import evaluation_page
from pipeline.exports.report import report_html
from pipeline.exports.tabular import FORMULA_START, PARQUET_SCHEMA, csv_bytes, neutralise, parquet_bytes
from pipeline.exports.workbook import xlsx_bytes

__all__ = ["FILES", "write_outputs", "parquet_bytes", "csv_bytes", "xlsx_bytes", "report_html", "charts",
           "evaluation_page", "texts", "FORMULA_START", "PARQUET_SCHEMA", "neutralise"]
