"""Whether this Python runs a model with the packages it was registered with.

MLflow checks a model's requirements on every load by mapping every installed distribution to
its modules first: 1.3-2.8 s in each new process, a nightly cold start included. The model's own
requirements are a handful of exact pins (`registry._requirements`), so reading the installed
version of each is enough. A mismatch is a warning, as MLflow's is, not a refusal: the booster is
LightGBM's text format and the rest is JSON, which newer versions read.
"""

from __future__ import annotations

import logging
import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

# "name==version" (extras and markers are not pinned by this project)
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)\s*$")


def mismatches(model_folder: Path) -> list[str]:
    """One line per requirement of the model folder this Python does not meet, and one for another
    Python minor version; empty when everything matches or the folder records nothing."""
    found = [_python_mismatch(model_folder / "MLmodel")]
    requirements = model_folder / "requirements.txt"
    if requirements.is_file():
        found += [_pin_mismatch(line) for line in requirements.read_text(encoding="utf-8").splitlines()]
    return [line for line in found if line]


def warn_mismatches(model_folder: Path, label: str) -> None:
    """Log one warning naming every mismatch, with what to do about it."""
    found = mismatches(model_folder)
    if found:
        log.warning("%s was registered with other versions than this Python has (%s). It is scored anyway; if "
                    "its numbers look wrong, install those versions or train again here", label, "; ".join(found))


def _pin_mismatch(line: str) -> str:
    pin = _PIN.match(line)
    if pin is None:
        return ""
    name, wanted = pin.groups()
    try:
        installed = version(name)
    except PackageNotFoundError:
        return f"{name} {wanted} is not installed"
    return "" if installed == wanted else f"{name} {wanted}, installed {installed}"


def _python_mismatch(mlmodel: Path) -> str:
    try:
        meta = yaml.safe_load(mlmodel.read_text(encoding="utf-8")) or {}
        recorded = str(meta["flavors"]["python_function"]["python_version"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return ""
    here = platform.python_version()
    return "" if recorded.split(".")[:2] == here.split(".")[:2] else f"Python {recorded}, running {here}"
