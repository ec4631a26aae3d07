"""Flags of the `churn` command turned into values: dates, the engine, the data location, the output
folder, config overrides. A flag that cannot be read is a `ContractError` (exit 2, one line)."""

from __future__ import annotations

import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

from features.errors import ContractError

ENGINE_HELP = "local (this process, default) or dask (a Dask cluster: --scheduler, or a LocalCluster for the run)."
SCHEDULER_HELP = "Dask scheduler address, e.g. tcp://scheduler:8786 (implies --engine dask)."
# flags of the command itself, also accepted after the subcommand (`churn score ... -v`): moved to the front
GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet")


def date_flag(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ContractError(f"{flag}: '{value}' is not a date (YYYY-MM-DD)") from None


def engine_flags(engine: str | None, scheduler: str | None) -> dict[str, Any] | None:
    """The engine flags as config overrides (flags win over the config file)."""
    if engine not in (None, "local", "dask"):
        raise ContractError(f"--engine: '{engine}' is not one of local, dask")
    if scheduler and engine == "local":
        raise ContractError("--scheduler needs --engine dask")
    values: dict[str, Any] = {}
    if engine or scheduler:
        values["kind"] = engine or "dask"
    if scheduler:
        values["scheduler"] = scheduler
    return {"engine": values} if values else None


def data_flag(value: str, config) -> Any:
    """A data folder: a local path, or (Dask engine) any fsspec URL."""
    from pipeline.data.location import is_url

    if is_url(value):
        if config.engine.kind != "dask":
            raise ContractError("is a URL; the local engine reads local folders (use --engine dask)", file=value)
        return value
    return Path(value)


def output_flag(out: Path, data: Any = None) -> Path:
    """--out made and writable, not the data folder (or exit 2)."""
    from pipeline.publish.files import output_folder

    return output_folder(out, data)


def merged(*overrides: dict[str, Any] | None) -> dict[str, Any] | None:
    from pipeline.config import merge

    out: dict[str, Any] = {}
    for o in overrides:
        if o:
            out = merge(out, o)
    return out or None


def global_flags_first(args: list[str]) -> list[str]:
    """`args` with the command's own flags (-v, -q) moved before the subcommand, so `churn score ... -v`
    works as `churn -v score ...` does; nothing after `--` moves."""
    end = args.index("--") if "--" in args else len(args)
    moved = [a for a in args[:end] if a in GLOBAL_FLAGS]
    return moved + [a for a in args[:end] if a not in GLOBAL_FLAGS] + args[end:]


def mlflow_command() -> str:
    """The `mlflow` command beside this Python (a venv's bin/), as a path when it is not on PATH."""
    import shutil

    beside = Path(sys.executable).parent / "mlflow"
    if beside.exists() and shutil.which("mlflow") != str(beside):
        return os.path.relpath(beside) if beside.is_relative_to(Path.cwd()) else str(beside)
    return "mlflow"
