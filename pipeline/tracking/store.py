"""Which MLflow store a command uses: one rule, the same from any working directory.

1. `MLFLOW_TRACKING_URI`, when set (a server, a database, a sqlite file);
2. else `registry.tracking_uri` in the config;
3. else a sqlite file in the user's data folder: `$XDG_DATA_HOME/churn-pipeline/mlflow.db`, or
   `~/.local/share/churn-pipeline/mlflow.db` when XDG_DATA_HOME is unset or not an absolute path
   (as the XDG base directory specification says). Its artifacts live beside it (`mlartifacts/`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_FOLDER = "churn-pipeline"
DB_NAME = "mlflow.db"


@dataclass(frozen=True)
class Store:
    uri: str
    source: str  # how the URI was chosen, in words


def user_store_path(environ: Mapping[str, str]) -> Path:
    """The default store's file: under XDG_DATA_HOME (when absolute), else ~/.local/share."""
    xdg = environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path(environ.get("HOME") or Path.home()) / ".local/share"
    return base / APP_FOLDER / DB_NAME


def resolve_store(environ: Mapping[str, str], configured: str | None) -> Store:
    """The store by the rule above; `configured` is registry.tracking_uri (None when unset)."""
    if environ.get("MLFLOW_TRACKING_URI"):
        return Store(environ["MLFLOW_TRACKING_URI"], "from MLFLOW_TRACKING_URI")
    if configured:
        return Store(configured, "from registry.tracking_uri in the config")
    path = user_store_path(environ)
    return Store(f"sqlite:///{path}", "the default: MLFLOW_TRACKING_URI and registry.tracking_uri are not set")
