"""The run record: one typed account of a scoring run, written as manifest.json at every step.

The manifest always describes the latest attempt, whatever its outcome: "running" while the run
goes (a run killed outright stays so), then "ok", "stopped" (a gate, exit 3) or "failed".
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from features.errors import ContractError, GateStop
from pipeline.data.location import redact
from pipeline.publish.files import publish_file
from pipeline.publish.runs import CURRENT, MANIFEST


@dataclass
class RunRecord:
    """What a run did, filled in as it goes; None fields are left out of the manifest."""

    command: str
    data: str
    engine: str
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    pid: int = field(default_factory=os.getpid)
    status: str = "running"
    exit_code: int | None = None
    error: str | None = None
    model_uri: str | None = None
    model_version: str | None = None
    partitions: int | None = None
    as_of: str | None = None
    inputs: dict[str, Any] | None = None
    input_fingerprint: str | None = None
    clients_scored: int | None = None
    clients_listed: int | None = None
    published_clients_scored: int | None = None  # what the list published before this run scored
    timings_s: dict[str, float] = field(default_factory=dict)
    dask_work: str | None = None          # where Dask workers wrote (removed after the run)
    partitioned_list: str | None = None   # the Dask engine's partitioned list
    outputs: dict[str, str] | None = None  # file name -> sha256

    def as_manifest(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k == "exit_code"}

    def ended(self, exc: BaseException | None) -> None:
        """Status and exit code of the run's outcome (the CLI's exit codes)."""
        if exc is None:
            self.status, self.exit_code = "ok", 0
            return
        code = (3 if isinstance(exc, GateStop) else 2 if isinstance(exc, ContractError)
                else 130 if isinstance(exc, KeyboardInterrupt)
                else exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1)
        self.status, self.exit_code = ("stopped" if code == 3 else "failed"), code
        self.error = redact(f"{type(exc).__name__}: {exc}")  # never a credential of a data URL


def write_manifest(out: Path, record: RunRecord) -> None:
    manifest = {**record.as_manifest(), "finished_at": datetime.now(UTC).isoformat(timespec="seconds")}
    text = json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
    publish_file(out / MANIFEST, text.encode("utf-8"))


def published_manifest(out: Path) -> dict[str, Any] | None:
    """The manifest published with the current list (None: nothing published, or a list from before
    manifests were published with it)."""
    path = out / CURRENT / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
