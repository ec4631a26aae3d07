"""The risk list as its four files, written together.

- `risk_list.parquet` and `risk_list.csv`: `pipeline.exports.tabular`
- `risk_list.xlsx`: `pipeline.exports.workbook`
- `risk_report.html`: `pipeline.exports.report`

Every file is written beside its target under a temporary name and moved into place only when
all four are ready. All words come from `pipeline.exports.texts`.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pandas as pd

from models.risk_list import COLUMNS
from models.summary import ListSummary
from pipeline.exports import report, tabular, texts, workbook

log = logging.getLogger(__name__)

FILES = {"parquet": "risk_list.parquet", "csv": "risk_list.csv", "xlsx": "risk_list.xlsx",
         "html": "risk_report.html"}


def write_outputs(listed: pd.DataFrame, scored: pd.DataFrame, summary: ListSummary, out: Path,
                  lang: str = "en") -> dict[str, Path]:
    """Write risk_list.parquet, risk_list.csv, risk_list.xlsx and risk_report.html into `out`;
    return {"parquet":..., "csv":..., "xlsx":..., "html":...}."""
    texts.check_lang(lang)
    missing = [c for c in COLUMNS if c not in listed.columns]
    if missing:
        raise ValueError(f"the risk list lacks column(s) {', '.join(missing)}: expected {', '.join(COLUMNS)}")
    if summary.lang != lang:
        log.warning("exports in %r but reasons and actions were written in %r", lang, summary.lang)
    listed = listed[list(COLUMNS)].reset_index(drop=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    contents = {
        "parquet": tabular.parquet_bytes(listed),
        "csv": tabular.csv_bytes(listed, lang),
        "xlsx": workbook.xlsx_bytes(listed, summary, lang),
        "html": report.report_html(listed, scored, summary, lang).encode("utf-8"),
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
