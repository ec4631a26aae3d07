"""Checking contract tables: parsing values, contract checks, quarantine.

Tables arrive as read by `reading` (or as in-memory frames). A missing required table or column is
a `ContractError` (exit 2). A row that breaks the contract is set aside in
`<quarantine_dir>/<table>.csv` with a `reason` column; rows in = rows used + rows set aside,
and the run stops when a table's rejected share passes `max_rejected_share`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import ContractError
from features.tables import CATEGORY_COLUMNS, FREE_TEXT_COLUMNS, REQUIRED_COLUMNS, TABLE_NAMES, TIME_COLUMNS, Tables
from pipeline.data import reading
from pipeline.data.quarantine import quarantine_csv
from pipeline.data.values import (
    ABSURD_NUMBER,
    DATE_ONLY,
    DECIMAL,
    EARLIEST,
    LATEST,
    Limits,
    attribute,
    blank,
    number,
    parse_time,
    text,
    text_breaks,
)
from pipeline.publish.files import publish_file

log = logging.getLogger(__name__)

FOUND_SHOWN = 20  # column names a missing-column message lists


@dataclass
class TableReport:
    name: str
    file: str
    rows_in: int
    rows_used: int
    rows_quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)
    sha256: str = ""


@dataclass
class LoadResult:
    tables: Tables
    reports: dict[str, TableReport]
    # raw rows set aside with their `reason` (and `__row` when the source numbered its rows);
    # filled only when asked (`keep_rejected`), for a caller that writes quarantine itself
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.reports):
            digest.update(f"{name}:{self.reports[name].sha256};".encode())
        return digest.hexdigest()


class _Reasons:
    """The first contract break found for each row."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(pd.NA, index=index, dtype="string")

    def flag(self, mask: pd.Series | np.ndarray, text: str) -> None:
        mask = pd.Series(np.asarray(mask, dtype=bool), index=self.reason.index)
        self.reason = self.reason.mask(self.reason.isna() & mask, text)

    @property
    def bad(self) -> pd.Series:
        return self.reason.notna()


def _check_columns(frame: pd.DataFrame, name: str, file: str, limits: Limits) -> None:
    reading.check_header([str(c) for c in frame.columns], file)
    if len(frame.columns) > limits.columns:
        raise ContractError(f"has {len(frame.columns)} columns, more than data.max_columns ({limits.columns})",
                            file=file, count=len(frame.columns))
    for column in REQUIRED_COLUMNS[name]:
        if column not in frame.columns:
            names = [str(c) for c in frame.columns]
            found = ", ".join(names[:FOUND_SHOWN]) + (f" and {len(names) - FOUND_SHOWN} more"
                                                      if len(names) > FOUND_SHOWN else "")
            raise ContractError(f"required column is missing (found: {found or 'none'})", file=file, column=column)


def _client_key(frame: pd.DataFrame, reasons: _Reasons, categories: pd.Index | None) -> pd.Categorical:
    ids = text(frame["client_id"])
    reasons.flag(ids.isna(), "client_id is empty")
    if categories is None:
        return ids
    if isinstance(ids.dtype, pd.CategoricalDtype):
        # recode once per distinct id, not once per row
        per_category = np.r_[categories.get_indexer(ids.cat.categories.astype(str)), -1]
        codes = per_category[ids.cat.codes.to_numpy()]
    else:
        codes = categories.get_indexer(ids.astype(object).where(ids.notna(), None))
    key = pd.Categorical.from_codes(codes, categories=categories)
    reasons.flag(ids.notna().to_numpy() & (codes < 0), "unknown client_id (not in clients)")
    return key


def _parse_times(frame: pd.DataFrame, name: str, reasons: _Reasons, required: tuple[str, ...]) -> dict:
    parsed = {}
    for column in TIME_COLUMNS[name]:
        if column not in frame:
            continue
        values, unparseable, out_of_range = parse_time(frame[column])
        if column in required:
            reasons.flag(frame[column].isna(), f"{column} is empty")
        reasons.flag(unparseable, f"{column} is not a date/time")
        reasons.flag(out_of_range, f"{column} is out of range ({EARLIEST.year}-{LATEST.year})")
        parsed[column] = values.dt.normalize() if column in DATE_ONLY else values
    return parsed


def _numbers(raw: pd.DataFrame, column: str, reasons: _Reasons, not_a_number: str, absurd: str) -> pd.Series:
    """A number column under the file's decimal mark: each kind of bad value flagged with its reason."""
    parsed = number(raw[column], raw.attrs.get(DECIMAL, "."))
    reasons.flag(parsed.unparseable, f"{column} {not_a_number}")
    reasons.flag(parsed.unclear, f"{column} {parsed.why_unclear}")
    reasons.flag(parsed.absurd, f"{column} {absurd}")
    return parsed.value


def _in_range(raw: pd.DataFrame, column: str, reasons: _Reasons, low: int, high: int) -> pd.Series:
    value = _numbers(raw, column, reasons, "is not a number", f"is not an integer from {low} to {high}")
    reasons.flag(value.notna() & ((value < low) | (value > high) | (value != np.floor(value))),
                 f"{column} is not an integer from {low} to {high}")
    return value


def _clients(raw: pd.DataFrame, out: dict, reasons: _Reasons) -> None:
    if "monthly_value" in raw:
        value = _numbers(raw, "monthly_value", reasons, "is not a number",
                         f"is out of range (infinite or magnitude above {ABSURD_NUMBER:.0e})")
        reasons.flag(value < 0, "monthly_value is negative")
        out["monthly_value"] = value
    for column in raw.columns:
        if column not in out and column not in REQUIRED_COLUMNS["clients"]:
            out[column] = attribute(raw[column], raw.attrs.get(DECIMAL, "."))
    _flag_duplicates(reasons, out["client_id"], "client_id")


def _events(raw: pd.DataFrame, out: dict, reasons: _Reasons) -> None:
    kind = text(raw["event_type"])
    reasons.flag(kind.isna(), "event_type is empty")
    out["event_type"] = kind
    if "channel" in raw:
        out["channel"] = text(raw["channel"])
    if "value" in raw:
        out["value"] = _numbers(raw, "value", reasons, "is not a usable number",
                                f"is not a usable number (infinite or magnitude above {ABSURD_NUMBER:.0e})")


def _surveys(raw: pd.DataFrame, out: dict, reasons: _Reasons) -> None:
    reasons.flag(raw["score"].isna(), "score is empty")
    out["score"] = _in_range(raw, "score", reasons, 0, 10)
    if "comment" in raw:
        out["comment"] = text(raw["comment"])


def _tickets(raw: pd.DataFrame, out: dict, reasons: _Reasons) -> None:
    ticket = text(raw["ticket_id"])
    reasons.flag(ticket.isna(), "ticket_id is empty")
    out["ticket_id"] = ticket
    opened = out["opened_at"]
    for column, reason in (("first_response_at", "first response before it was opened"),
                           ("resolved_at", "resolved before it was opened")):
        if column in out:
            reasons.flag(out[column] < opened, reason)
    for column in ("priority", "category"):
        if column in raw:
            out[column] = text(raw[column]).astype("string").str.lower()
    if "satisfaction" in raw:
        out["satisfaction"] = _in_range(raw, "satisfaction", reasons, 1, 5)
    _flag_duplicates(reasons, ticket, "ticket_id")


def _churn(raw: pd.DataFrame, out: dict, reasons: _Reasons) -> None:
    _flag_duplicates(reasons, pd.Series(np.asarray(out["client_id"], dtype=object), index=raw.index), "client_id")


TABLE_CHECKS = {"clients": _clients, "events": _events, "surveys": _surveys, "tickets": _tickets, "churn": _churn}


def _limit_text(raw: pd.DataFrame, name: str, limits: Limits, reasons: _Reasons) -> pd.DataFrame:
    """Rows with a text value over its limit, or holding a control character, set aside first; those
    values blanked, so no later step works on them."""
    blanked = {}
    for column in raw.columns:
        free = column in FREE_TEXT_COLUMNS.get(name, ())
        limit, setting = (limits.free_text, "data.max_comment_length") if free else \
            (limits.text, "data.max_text_length")
        found = text_breaks(raw[column], limit)
        if found is None:
            continue
        too_long, control = found
        reasons.flag(too_long, f"{column} is longer than {limit} characters ({setting})")
        reasons.flag(control, f"{column} holds a control character (NUL or the like)")
        if too_long.any() or control.any():
            blanked[column] = blank(raw[column], too_long | control)
    return raw.assign(**blanked) if blanked else raw


def _validate(name: str, raw: pd.DataFrame, categories: pd.Index | None,
              limits: Limits) -> tuple[pd.DataFrame, _Reasons]:
    reasons = _Reasons(raw.index)
    raw = _limit_text(raw, name, limits, reasons)
    out: dict[str, pd.Series | pd.Categorical] = {"client_id": _client_key(raw, reasons, categories)}
    out.update(_parse_times(raw, name, reasons, REQUIRED_COLUMNS[name]))
    TABLE_CHECKS[name](raw, out, reasons)
    return pd.DataFrame(out, index=raw.index), reasons


def _flag_duplicates(reasons: _Reasons, key: pd.Series, column: str) -> None:
    """Among rows otherwise valid, a repeated key is set aside; the first row keeps it."""
    candidates = key.notna() & ~reasons.bad
    repeated = pd.Series(False, index=key.index)
    repeated[candidates] = key[candidates].duplicated(keep="first")
    reasons.flag(repeated, f"duplicate {column} (first row kept)")


def _write_quarantine(raw: pd.DataFrame, reasons: _Reasons, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rejected = raw.loc[reasons.bad].assign(reason=reasons.reason[reasons.bad])
    publish_file(path, quarantine_csv(rejected))  # never through a planted link


def load_folder(folder: Path, *, quarantine_dir: Path | None, max_rejected_share: float,
                require_churn: bool, limits: Limits | None = None) -> LoadResult:
    """Read, validate and type every contract table in `folder`."""
    return validate(read_folder(folder, require_churn), quarantine_dir=quarantine_dir,
                    max_rejected_share=max_rejected_share, limits=limits)


def read_folder(folder: Path, require_churn: bool) -> dict[str, tuple[pd.DataFrame, str, str]]:
    """Every contract table of `folder` as read: (raw frame, file name as shown, sha256), for `validate`
    (with reasons of a caller's own, such as rows dated after the run's day)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ContractError("data folder not found", file=str(folder))
    sources: dict[str, tuple[pd.DataFrame, str, str]] = {}
    for name in TABLE_NAMES:
        path = reading.find_table(folder, name)
        if path is None:
            reading.require_table(folder, name, require_churn)
            continue
        sources[name] = (reading.read_raw(path, name), reading.shown_name(path), reading.sha256_of_table(path))
    return sources


def tables_from_frames(frames: dict[str, pd.DataFrame], *, max_rejected_share: float = 1.0,
                       quarantine_dir: Path | None = None, limits: Limits | None = None) -> LoadResult:
    """The same contract checks on in-memory frames (notebooks, tests): values as they would be read."""
    sources = {}
    for name, frame in frames.items():
        if frame is None:
            continue
        frame = reading.normalised(frame.copy(), f"{name} (frame)")
        digest = hashlib.sha256(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
        sources[name] = (frame, f"{name} (frame)", digest.hexdigest())
    if "clients" not in sources:
        raise ContractError("table is required", file="clients")
    return validate(sources, quarantine_dir=quarantine_dir, max_rejected_share=max_rejected_share, limits=limits)


def validate(sources: dict[str, tuple[pd.DataFrame, str, str]], *, quarantine_dir: Path | None,
             max_rejected_share: float, keep_rejected: bool = False,
             extra_reasons: dict[str, pd.Series] | None = None, limits: Limits | None = None) -> LoadResult:
    """Contract checks, typing and quarantine for raw tables given as (frame, file name, sha256).

    `extra_reasons[name]` flags rows found bad by a check that needs more than this frame
    (indexed like the raw frame); a raw `__row` column is the rows' number in their file; a frame's
    `attrs[DECIMAL]` is its file's decimal mark; `limits` default to `data`'s defaults.
    """
    limits = limits or Limits.of()
    rejected: dict[str, pd.DataFrame] = {}
    reports: dict[str, TableReport] = {}
    frames: dict[str, pd.DataFrame | None] = {}
    categories: pd.Index | None = None
    failures: list[str] = []
    for name in TABLE_NAMES:
        if name not in sources:
            frames[name] = None
            continue
        raw, file, digest = sources[name]
        decimal = raw.attrs.get(DECIMAL, ".")
        raw = raw.reset_index(drop=True)
        raw.attrs[DECIMAL] = decimal
        numbers = raw.pop(reading.ROW_NUMBER) if reading.ROW_NUMBER in raw else None
        _check_columns(raw, name, file, limits)
        if name == "clients" and raw.empty and numbers is None:
            raise ContractError("has no rows", file=file)
        clean, reasons = _validate(name, raw, categories, limits)
        if extra_reasons and name in extra_reasons:
            extra = extra_reasons[name].reindex(raw.index)
            reasons.flag(extra.notna().to_numpy(), extra)
        bad = reasons.bad
        n_bad = int(bad.sum())
        report = TableReport(name=name, file=file, rows_in=len(raw), rows_used=len(raw) - n_bad,
                             rows_quarantined=n_bad, reasons=reasons.reason[bad].value_counts().to_dict(),
                             sha256=digest)
        reports[name] = report
        target = None if quarantine_dir is None else Path(quarantine_dir) / f"{name}.csv"
        if keep_rejected:
            kept = raw.loc[bad].assign(reason=reasons.reason[bad])
            rejected[name] = kept if numbers is None else kept.assign(**{reading.ROW_NUMBER: numbers[bad].to_numpy()})
        if n_bad and target is not None:
            _write_quarantine(raw, reasons, target)
        elif target is not None and target.exists():
            target.unlink()  # a stale file from an earlier run would mislead
        if n_bad and not keep_rejected:  # a caller keeping rejected rows reports them itself
            failures += _rows_set_aside(report, max_rejected_share, target)
        clean = clean.loc[~bad]
        if name == "clients" and numbers is None and not len(clean):
            raise ContractError(f"has no usable rows: all {len(raw)} break the contract ({top_reasons(report)})",
                                file=file, count=len(raw))
        if name == "clients":
            clean = clean.sort_values("client_id", kind="mergesort")
            categories = pd.Index(clean["client_id"].astype(str).to_numpy())
            clean = clean.assign(client_id=pd.Categorical(clean["client_id"].astype(str), categories=categories))
        frames[name] = _finish(name, clean)
    if failures:
        raise ContractError(" | ".join(failures))
    _warn_churn_before_signup(frames, reports)
    return LoadResult(tables=Tables(**frames), reports=reports, rejected=rejected)


def _rows_set_aside(report: TableReport, max_rejected_share: float, target: Path | None) -> list[str]:
    """Log the rows a table set aside; the failure to report when their share passes the limit."""
    file, n_bad, rows_in = report.file, report.rows_quarantined, report.rows_in
    top = ", ".join(f"{r} ({c})" for r, c in list(report.reasons.items())[:3])
    log.warning("%s: %d of %d rows set aside: %s", file, n_bad, rows_in, top)
    if n_bad / rows_in > max_rejected_share:
        where = f"; see {target}" if target is not None else ""
        return [f"{file}: {n_bad} of {rows_in} rows ({n_bad / rows_in:.1%}) break the "
                f"contract, above max_rejected_share {max_rejected_share:.1%}: {top}{where}"]
    return []


def top_reasons(report: TableReport, n: int = 3) -> str:
    return ", ".join(f"{r} ({c})" for r, c in sorted(report.reasons.items(), key=lambda kv: -kv[1])[:n])


def _finish(name: str, clean: pd.DataFrame) -> pd.DataFrame:
    """Categoricals for repeated text; logs sorted by time so the time module can binary-search."""
    for column in CATEGORY_COLUMNS.get(name, ()):
        if column in clean:
            values = clean[column]
            if not isinstance(values.dtype, pd.CategoricalDtype):
                values = values.astype("category")
            values = values.cat.remove_unused_categories()
            values = values.cat.set_categories(sorted(str(c) for c in values.cat.categories))
            clean = clean.assign(**{column: values})
    if name in reading.TIME_ORDER:
        clean = clean.sort_values(reading.TIME_ORDER[name], kind="mergesort")
    return clean.reset_index(drop=True)


def _warn_churn_before_signup(frames: dict, reports: dict[str, TableReport]) -> None:
    """A churn dated before the client's signup is odd but usable: the client is gone from that day."""
    churn, clients = frames.get("churn"), frames["clients"]
    if churn is None or not len(churn):
        return
    signup = clients.set_index(clients["client_id"].astype(str))["signup_date"]
    before = churn["churned_at"].to_numpy() < signup.reindex(churn["client_id"].astype(str)).to_numpy()
    if before.any():
        log.warning("%s: %d churn row(s) dated before the client's signup; kept, the client counts as gone "
                    "from that day", reports["churn"].file, int(before.sum()))
