"""The `churn` command's entry: first, that `features`, `models` and `pipeline` are this project's.

The three names are generic. Another distribution may install a top-level `models` of its own (into the
same site-packages, over this project's files), or a folder on PYTHONPATH (or the current folder, for
`python -m`) may hold one that is found first. The command would then fail far from the cause, with a
traceback; instead it stops here with one line naming the module, where it was found and what to do
(exit 2). A console script does not put the current folder on sys.path: a `models/` folder where
`churn` runs hides nothing.

Each package of this project carries `__churn_pipeline__ = True` in its __init__.py. The check reads
that line in the source found for each name rather than importing the package: importing `models`
loads LightGBM (seconds), and must wait for `cli.main` to set OMP_WAIT_POLICY.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from importlib.machinery import ModuleSpec
from pathlib import Path

PACKAGES = ("features", "models", "pipeline")
DISTRIBUTION = "churn-pipeline"
MARKER = re.compile(r"^__churn_pipeline__ = True\b", re.MULTILINE)
EXIT_CLASH = 2
REINSTALL = f"pip install --force-reinstall --no-deps {DISTRIBUTION}"


def main() -> None:
    """The console script: one line on stderr and exit 2 on a clash of names, else the CLI."""
    problem = clash()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        raise SystemExit(EXIT_CLASH)
    from pipeline.cli import main as cli_main

    cli_main()


def clash() -> str | None:
    """What is wrong with the first of PACKAGES that is not this project's, in one line; None if all are."""
    for name in PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as exc:
            return f"the module '{name}' cannot be looked up ({type(exc).__name__}: {exc}); reinstall {DISTRIBUTION}"
        if spec is None:
            return f"the module '{name}' of {DISTRIBUTION} is not installed (not on sys.path); {REINSTALL}"
        if not _is_ours(name, spec):
            where = location(spec)
            return (f"the module '{name}' found at {where} is not {DISTRIBUTION}'s but another package of the same "
                    f"name, which hides this project's: {advice(name, where)}")
    return None


def _is_ours(name: str, spec: ModuleSpec) -> bool:
    module = sys.modules.get(name)
    if module is None:
        try:
            source = spec.loader.get_source(name) if hasattr(spec.loader, "get_source") else None
        except (ImportError, OSError):
            source = None
        if source is not None:
            return MARKER.search(source) is not None
        try:  # no source to read (a compiled-only install): import it to see
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a package that cannot even be imported is not this project's
            return False
    return getattr(module, "__churn_pipeline__", False) is True


def location(spec: ModuleSpec) -> str:
    """The folder of a package (or the file of a module) a spec was found at."""
    if spec.origin and spec.has_location:
        origin = Path(spec.origin)
        return str(origin.parent if origin.stem == "__init__" else origin)
    folders = list(spec.submodule_search_locations or ())  # a namespace package: a folder without __init__.py
    return folders[0] if folders else str(spec.origin)


def advice(name: str, where: str) -> str:
    """What to do about a foreign `name` found at `where`."""
    found = Path(os.path.abspath(where))
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and found.is_relative_to(os.path.abspath(entry)):
            return f"take {entry} off PYTHONPATH (or rename its '{name}')"
    if found.parent == Path.cwd():
        return f"run the command from another folder (or rename ./{found.name})"
    owners = _owners(name)
    if owners:
        return (f"{', '.join(owners)} installs a top-level '{name}' too: uninstall it (pip uninstall {owners[0]}) "
                f"then {REINSTALL}, or keep the two in separate virtual environments")
    return f"rename or remove it, or install {DISTRIBUTION} in a virtual environment of its own"


def _owners(name: str) -> list[str]:
    """The installed distributions other than this one that provide a top-level `name`."""
    from importlib.metadata import packages_distributions

    mine = re.sub(r"[-_.]+", "-", DISTRIBUTION).lower()
    return sorted({d for d in packages_distributions().get(name, ()) if re.sub(r"[-_.]+", "-", d).lower() != mine})


if __name__ == "__main__":
    main()
