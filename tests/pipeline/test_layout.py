"""The house rules of pipeline/, kept by a test rather than by memory: small modules, short
functions, no private name imported across modules, imports without side effects, every
sub-package inside a wheel and inside the Dask workers' code fingerprint."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("features", "models", "pipeline")
MODULES = sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def _module_name(path: Path) -> str:
    return path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".").removesuffix(".__init__")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", [p for p in MODULES if p.is_relative_to(ROOT / "pipeline")],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pipeline_modules_and_functions_stay_small(path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= 400, f"{path.name}: {lines} lines"
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(_tree(path))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60]
    assert not long, f"functions over 60 lines: {long}"


def test_no_private_name_is_imported_across_modules():
    found = []
    for path in MODULES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []


def test_importing_the_packages_sets_no_environment_variable(tmp_path):
    # libraries set variables of their own on import (MLflow, OpenMP runtimes): they load first
    libraries = "mlflow, lightgbm, sklearn, pandas, numpy, pyarrow, optuna, dask, distributed, matplotlib, typer, " \
                "openpyxl, jinja2, joblib, yaml, pydantic, mlflow.pyfunc, sklearn.linear_model"
    code = (f"import os, {libraries}; before = dict(os.environ); "
            + "; ".join(f"import {_module_name(p)}" for p in MODULES if p.name != "pyfunc_model.py")
            + "; print(sorted(set(os.environ.items()) ^ set(before.items())))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_sub_package_goes_into_the_wheel():
    import setuptools

    found = set(setuptools.find_packages(where=str(ROOT), include=["pipeline", "pipeline.*", "features",
                                                                    "features.*", "models", "models.*"]))
    folders = {p.parent.relative_to(ROOT).as_posix().replace("/", ".") for p in MODULES if p.name == "__init__.py"}
    assert folders <= found and "pipeline.engines" in found
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'include = ["pipeline", "pipeline.*", "features", "features.*", "models", "models.*"]' in pyproject


def test_the_workers_code_fingerprint_covers_modules_in_sub_packages(tmp_path):
    from pipeline.engines.dask_cluster import code_fingerprint

    copy = tmp_path / "code"
    for path in MODULES:
        target = copy / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    assert code_fingerprint(copy) == code_fingerprint()
    deep = copy / "pipeline" / "engines" / "dask_work.py"
    deep.write_bytes(deep.read_bytes() + b"\n# a change two folders down\n")
    assert code_fingerprint(copy) != code_fingerprint()


def test_the_architecture_page_names_every_room_and_module_of_pipeline():
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    pipeline = ROOT / "pipeline"
    rooms = sorted(p.name for p in pipeline.iterdir() if (p / "__init__.py").is_file())
    missing = [f"{room}/" for room in rooms if f"`{room}/`" not in page]
    missing += [f"{p.relative_to(pipeline)}" for p in pipeline.rglob("*.py")
                if p.name != "__init__.py" and f"`{p.name}`" not in page and f"`{p.stem}`" not in page]
    assert missing == []
    assert "docs/architecture.md" in (ROOT / "README.md").read_text(encoding="utf-8")
