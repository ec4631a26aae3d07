"""Which MLflow store a command uses: one rule, the same from any working directory.

1. `MLFLOW_TRACKING_URI`, when set (a server, a database, a sqlite file);
2. else `registry.tracking_uri` in the config;
3. else a sqlite file in the user's data folder: `$XDG_DATA_HOME/churn-pipeline/mlflow.db`, or
   `~/.local/share/churn-pipeline/mlflow.db` when XDG_DATA_HOME is unset or not an absolute path
   (as the XDG base directory specification says). Its artifacts live beside it (`mlartifacts/`).

A server (http or https) is checked before a command uses it (`check_reachable`): one that is down
stops the command in `registry.connect_timeout_s` seconds with one line naming it, instead of after
MLflow's own retries (about four minutes) with a long HTTP error.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from features.errors import ContractError

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


def check_reachable(uri: str, timeout_s: float) -> None:
    """For an http(s) store: a TCP connection to its host and port within `timeout_s` seconds (tried
    every half second, so a server restarting meanwhile is found), else a ContractError naming it.
    Other stores (sqlite, a database, a folder) are left to MLflow."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return
    address = (parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(address, timeout=max(0.1, min(2.0, deadline - time.monotonic()))).close()
            return
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if time.monotonic() + 0.5 >= deadline:
                shown = f"{parsed.scheme}://{parsed.hostname}:{address[1]}"  # no credentials or path
                raise ContractError(f"cannot reach the MLflow tracking server ({reason}) for "
                                    f"{timeout_s:g} s: start it, or point MLFLOW_TRACKING_URI (or "
                                    "registry.tracking_uri) at one that runs; registry.connect_timeout_s sets the "
                                    "wait", file=shown) from None
            time.sleep(0.5)
