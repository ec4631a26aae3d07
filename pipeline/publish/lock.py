"""One run at a time per output folder."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from features.errors import ContractError

LOCK_FILE = ".churn.lock"


@contextmanager
def exclusive(out: Path):
    """One run at a time per output folder: a second run fails at once instead of interleaving."""
    out.mkdir(parents=True, exist_ok=True)
    handle = open(out / LOCK_FILE, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ContractError(f"another churn run ({holder}) is writing to this output folder; wait for it to "
                            f"finish or use another --out", file=str(out)) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()

