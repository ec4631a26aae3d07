"""Row accounting over a run's pieces: reports and quarantine for the whole run, one piece at a time.

rows in = rows used + rows set aside, per table, whatever the engine cut the data into.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import ContractError
from pipeline.data import contract, reading
from pipeline.data.partitions import Split
from pipeline.data.quarantine import quarantine_csv
from pipeline.publish.files import publish_file

log = logging.getLogger(__name__)


@dataclass
class InputTotals:
    """Validated input, one partition at a time; reports and quarantine for the whole run."""

    reports: dict[str, contract.TableReport] = field(default_factory=dict)
    rejected: dict[str, list[pd.DataFrame]] = field(default_factory=dict)
    churn: list[pd.DataFrame] = field(default_factory=list)

    def account(self, loaded: contract.LoadResult) -> None:
        for name, r in loaded.reports.items():
            total = self.reports.setdefault(name, contract.TableReport(name, r.file, 0, 0, 0, {}, r.sha256))
            total.rows_in += r.rows_in
            total.rows_used += r.rows_used
            total.rows_quarantined += r.rows_quarantined
            for reason, count in r.reasons.items():
                total.reasons[reason] = total.reasons.get(reason, 0) + count
        for name, frame in loaded.rejected.items():
            if len(frame):
                self.rejected.setdefault(name, []).append(frame)

    def finish(self, quarantine_dir: Path, max_share: float) -> None:
        """Write quarantine in source order and stop when a table rejects too much (as one pass does)."""
        failures = []
        self.write_quarantine(quarantine_dir)
        for name, report in self.reports.items():
            target = quarantine_dir / f"{name}.csv"
            if report.rows_quarantined:
                top = contract.top_reasons(report)
                log.warning("%s: %d of %d rows set aside: %s", report.file, report.rows_quarantined, report.rows_in,
                            top)
                share = report.rows_quarantined / report.rows_in
                if share > max_share:
                    failures.append(f"{report.file}: {report.rows_quarantined} of {report.rows_in} rows ({share:.1%}) "
                                    f"break the contract, above max_rejected_share {max_share:.1%}: {top}; see "
                                    f"{target}")
        clients = self.reports.get("clients")
        if clients is not None and not clients.rows_in:
            raise ContractError("has no rows", file=clients.file)
        if clients is not None and not clients.rows_used:
            raise ContractError(f"has no usable rows: all {clients.rows_in} break the contract "
                                f"({contract.top_reasons(clients)})", file=clients.file, count=clients.rows_in)
        if failures:
            raise ContractError(" | ".join(failures))

    def stop_early(self, split: Split, quarantine_dir: Path, max_share: float) -> None:
        """Stop as soon as a table has set aside more than its share of all its rows (the count can
        only grow), rather than after featurising every partition."""
        for name, report in self.reports.items():
            total = split.sources[name].rows
            if total and report.rows_quarantined > max_share * total:
                self.write_quarantine(quarantine_dir)
                raise ContractError(
                    f"{report.file}: at least {report.rows_quarantined} of {total} rows "
                    f"({report.rows_quarantined / total:.1%}) break the contract, above max_rejected_share "
                    f"{max_share:.1%}: {contract.top_reasons(report)}; see {quarantine_dir / (name + '.csv')} (stopped "
                    f"after {report.rows_in} rows)")

    def write_quarantine(self, quarantine_dir: Path) -> None:
        for name, report in self.reports.items():
            target = quarantine_dir / f"{name}.csv"
            if report.rows_quarantined:
                rows = pd.concat(self.rejected[name]).sort_values(reading.ROW_NUMBER, kind="mergesort")
                target.parent.mkdir(parents=True, exist_ok=True)
                publish_file(target, quarantine_csv(rows.drop(columns=reading.ROW_NUMBER)))
            elif target.exists():
                target.unlink()

    def fingerprint(self) -> str:
        return contract.LoadResult(tables=None, reports=self.reports).fingerprint  # type: ignore[arg-type]


def inputs_summary(inputs: InputTotals) -> dict[str, Any]:
    return {name: {"file": r.file, "sha256": r.sha256, "rows_in": r.rows_in, "rows_used": r.rows_used,
                   "rows_quarantined": r.rows_quarantined, "reasons": r.reasons}
            for name, r in inputs.reports.items()}


def rows_summary(result: contract.LoadResult) -> dict[str, dict[str, int]]:
    return {name: {"rows_in": r.rows_in, "rows_used": r.rows_used, "rows_quarantined": r.rows_quarantined}
            for name, r in result.reports.items()}
