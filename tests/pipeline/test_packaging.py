"""The project as a package: a wheel built from this tree works where the tree is not, and a foreign
package named like one of ours stops `churn` with one line (pipeline/installation.py).

The wheel test builds offline (--no-build-isolation: the dev extra holds setuptools and wheel), installs
into a fresh virtual environment without the project's editable install, and runs the `churn` console
script from an empty folder: the smallest demo (100 clients, the CLI's least) reads the playbook and the
report templates from package data. Its MLflow store is an empty one already made (`new_store`): MLflow's
migrations are MLflow's, not the wheel's, and creating a store is tested where it is the point
(tests/pipeline/test_model_integrity.py, test_store_rule.py).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_INPUTS = ("pyproject.toml", "README.md", "features", "models", "pipeline")
# a package of the same name whose import would fail loudly: the check must not import it
FOREIGN_INIT = 'raise RuntimeError("a foreign models package was imported")\n'
# what pip writes as the `churn` console script (the script's folder, not the current one, leads sys.path)
CONSOLE_SCRIPT = "import sys\nfrom pipeline.installation import main\nsys.exit(main())\n"


def _foreign_models(parent: Path) -> Path:
    (parent / "models").mkdir(parents=True)
    (parent / "models" / "__init__.py").write_text(FOREIGN_INIT)
    return parent / "models"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    return {**env, "PYTHONNOUSERSITE": "1", **extra}


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _assert_one_line_naming(done: subprocess.CompletedProcess, module: Path, *words: str) -> None:
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "'models'" in lines[0] and str(module) in lines[0], lines[0]
    assert all(word in lines[0] for word in words), lines[0]


def test_shipped_configs_are_the_configs_folder_byte_for_byte():
    shipped = sorted((ROOT / "pipeline" / "configs").glob("*.yaml"))
    assert [p.name for p in shipped] == ["playbook.yaml"]
    for path in shipped:
        assert path.read_bytes() == (ROOT / "configs" / path.name).read_bytes(), (
            f"pipeline/configs/{path.name} (shipped in the package, read at run time) differs from configs/{path.name} "
            f"(the copy users read): make them the same bytes")


def test_every_package_data_pattern_matches_a_file():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"]
    for package, patterns in package_data.items():
        folder = ROOT.joinpath(*package.split("."))
        assert all(list(folder.glob(pattern)) for pattern in patterns), f"{package}: {patterns}"


def test_a_foreign_models_package_on_pythonpath_stops_churn_with_one_line(tmp_path):
    foreign = _foreign_models(tmp_path / "foreign")
    script = tmp_path / "bin" / "churn"
    script.parent.mkdir()
    script.write_text(CONSOLE_SCRIPT)
    here = tmp_path / "elsewhere"
    here.mkdir()
    env = _env(PYTHONPATH=os.pathsep.join([str(foreign.parent), str(ROOT)]))
    _assert_one_line_naming(_run([sys.executable, str(script), "--help"], here, env), foreign, "PYTHONPATH")


def test_a_models_folder_where_churn_runs_hides_nothing_but_does_under_python_m(tmp_path):
    here = tmp_path / "project"
    local = _foreign_models(here)
    script = tmp_path / "bin" / "churn"
    script.parent.mkdir()
    script.write_text(CONSOLE_SCRIPT)
    env = _env(PYTHONPATH=str(ROOT))
    done = _run([sys.executable, str(script), "--help"], here, env)
    assert done.returncode == 0 and "Usage" in done.stdout, done.stderr
    # `python -m` puts the current folder first on sys.path: there the folder does hide ours
    done = _run([sys.executable, "-m", "pipeline.installation", "--help"], here, env)
    _assert_one_line_naming(done, local, "another folder")


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"  # a copy: the build's build/ and egg-info stay out of the tree
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, source / name)
    done = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                 "--wheel-dir", str(tmp_path / "dist"), str(source)], tmp_path, _env(), timeout=300)
    assert done.returncode == 0, f"{done.stderr[-2000:]}\n(the dev extra's setuptools and wheel build it)"
    return next((tmp_path / "dist").glob("churn_pipeline-*.whl"))


def _venv_with(wheel: Path, venv: Path) -> Path:
    """A fresh venv holding the wheel; the dependencies come from this interpreter's site-packages, added by a
    .pth line (a folder a .pth line adds has its own .pth files ignored: no editable finder of this project)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    _install(wheel, venv)
    site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     venv, _env()).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_dependencies.pth").write_text("".join(f"{folder}\n" for folder in sorted(deps)))
    return site


def _install(wheel: Path, venv: Path) -> None:
    """This interpreter's pip installs the wheel into `venv` (which has no pip of its own)."""
    done = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                 "--no-deps", "--no-index", str(wheel)], venv.parent, _env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _other_distribution(folder: Path) -> Path:
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "__init__.py").write_text('"""The models of another project."""\n')
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=68"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "other-models"\nversion = "1.0"\n[tool.setuptools]\npackages = ["models"]\n')
    done = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
                 "--wheel-dir", str(folder / "dist"), str(folder)], folder, _env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return next((folder / "dist").glob("other_models-*.whl"))


WHERE = ("import importlib.util, json, sys, pipeline; print(json.dumps({'pipeline': pipeline.__file__, "
         "'features': importlib.util.find_spec('features').origin, 'models': importlib.util.find_spec('models').origin,"
         " 'finders': [repr(f) for f in sys.meta_path]}))")


@pytest.mark.slow
def test_the_wheel_installed_elsewhere_runs_the_demo_from_another_folder(tmp_path, new_store):
    site = _venv_with(_build_wheel(tmp_path), tmp_path / "venv")
    churn = str(tmp_path / "venv" / "bin" / "churn")
    here = tmp_path / "elsewhere"
    here.mkdir()
    env = _env(MLFLOW_TRACKING_URI=new_store(tmp_path / "mlflow.db"))

    done = _run([str(tmp_path / "venv" / "bin" / "python"), "-c", WHERE], here, env)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert all(Path(found[name]).is_relative_to(site) for name in ("pipeline", "features", "models")), found
    assert not any("editable" in finder.lower() for finder in found["finders"]), found["finders"]

    from importlib.metadata import version

    done = _run([churn, "--version"], here, env)
    assert (done.returncode, done.stdout) == (0, f"churn-pipeline {version('churn-pipeline')}\n"), done.stderr
    done = _run([churn, "demo", "--out", "demo", "--clients", "100"], here, env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    risk = here / "demo" / "risk"
    with (risk / "risk_list.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and all(row["Recommended action"] for row in rows)  # the shipped playbook's actions
    assert "<html" in (risk / "risk_report.html").read_text(encoding="utf-8")  # the shipped templates

    foreign = _foreign_models(tmp_path / "foreign")
    _assert_one_line_naming(_run([churn, "--help"], here, {**env, "PYTHONPATH": str(foreign.parent)}), foreign,
                            "PYTHONPATH")
    # another distribution with a top-level `models`, installed after this one: its __init__.py replaces ours
    _install(_other_distribution(tmp_path / "other"), tmp_path / "venv")
    _assert_one_line_naming(_run([churn, "--help"], here, env), site / "models", "pip uninstall other-models")

