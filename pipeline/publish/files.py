"""Files that readers never see half-written: write beside, fsync, move into place; links switched atomically.

Nothing here writes through a link planted in the output folder: a file is created new (O_EXCL,
O_NOFOLLOW) beside its target and renamed over it, which replaces a link rather than following it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from features.errors import ContractError
from features.tables import TABLE_NAMES


def create_new(path: Path) -> int:
    """A descriptor of `path` created now for writing: whatever was at that name (a leftover, a
    planted link) is removed first, and a link is never followed."""
    Path(path).unlink(missing_ok=True)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)


def publish_file(path: Path, content: bytes) -> None:
    """Write beside the target, then move into place: readers never see a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with os.fdopen(create_new(tmp), "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        if path.is_dir():
            fsync_tree(path)
            continue
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    fsync_folder(folder)


def replace_link(link: Path, target: Path) -> None:
    if link.is_symlink() and os.readlink(link) == str(target):
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def real_folder(folder: Path) -> Path:
    """`folder` (under an output folder) created as a real folder; a symbolic link there is refused,
    so nothing is written through it to another place."""
    if folder.is_symlink():
        raise ContractError("is a symbolic link; churn writes only into real folders under --out (remove the link)",
                            file=str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_folder(out: Path, data: Path | str | None = None) -> Path:
    """`--out`, created if need be and proven writable (a file made and removed), or a ContractError
    naming it: a file, a part of the path that is a file, a read-only folder or file system, the
    data folder itself or a table's place in it."""
    out = Path(out)
    _outside_data(out, data)
    if out.exists() and not out.is_dir():
        raise ContractError("is not a folder (a file is in the way); give a folder for --out", file=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".churn-probe-", dir=out)
        os.close(descriptor)
        os.unlink(probe)
    except NotADirectoryError:
        raise ContractError("cannot be created: a part of the path is a file, not a folder", file=str(out)) from None
    except OSError as exc:
        what = "cannot be created" if not out.is_dir() else "is not writable"
        raise ContractError(f"{what} ({exc.strerror or type(exc).__name__}); give a folder this user can write "
                            f"for --out", file=str(out)) from None
    return out


def _outside_data(out: Path, data: Path | str | None) -> None:
    """Outputs beside the tables would mix a run's files into its input: --out may not be the data
    folder itself, nor the place of a table in it (a Dask reader takes <table>/ for a table)."""
    if data is None or "://" in str(data):
        return
    try:
        folder, target = Path(data).resolve(), out.resolve()
    except (OSError, RuntimeError):  # a link loop: the reader names it
        return
    if target == folder:
        raise ContractError(f"is the data folder ({data}); give --out a folder of its own", file=str(out))
    if target.is_relative_to(folder):
        first = target.relative_to(folder).parts[0]
        if first.split(".")[0] in TABLE_NAMES:
            raise ContractError(f"is where the data folder keeps a table ({first}); give --out a folder of its own",
                                file=str(out))
