"""One run at a time per output folder.

The lock file is opened without following a link (O_NOFOLLOW) and created if absent, never
truncated on opening: a link, a FIFO, a device or a hard link planted at its name is refused
(exit 2) and what it points to is left untouched.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from contextlib import contextmanager
from pathlib import Path

from features.errors import ContractError
from pipeline.publish.files import output_folder

LOCK_FILE = ".churn.lock"


@contextmanager
def exclusive(out: Path):
    """One run at a time per output folder: a second run fails at once instead of interleaving."""
    out = output_folder(out)
    descriptor = _open_lock(out / LOCK_FILE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 200, 0).decode("utf-8", "replace").strip() or "another process"
        os.close(descriptor)
        raise ContractError(f"another churn run ({holder}) is writing to this output folder; wait for it to "
                            f"finish or use another --out", file=str(out)) from None
    try:
        # the file is this folder's own lock (checked above): it now says who holds it
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)


def _open_lock(path: Path) -> int:
    """A descriptor of the lock file, or a ContractError naming it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ContractError("is a symbolic link; refusing to open the lock through it (remove the link)",
                                file=str(path)) from None
        owner = _owner(path)
        raise ContractError(f"cannot open the lock ({exc.strerror}){owner}; use another --out or ask its owner",
                            file=str(path)) from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(descriptor)
        what = "has other names (a hard link)" if stat.S_ISREG(info.st_mode) else "is not a regular file"
        raise ContractError(f"{what}; refusing to use it as the lock (remove it)", file=str(path))
    return descriptor


def _owner(path: Path) -> str:
    try:
        uid = path.lstat().st_uid
    except OSError:
        return ""
    return f", owned by user id {uid}" if uid != os.geteuid() else ""
