"""The notebooks run top to bottom on small generated data, and on a bare CRM extract.

The data and the model are the run's shared ones (tests/conftest.py: generated data, a model
trained into a temporary MLflow sqlite store as churn@champion), read-only; each notebook is executed in memory
with nbclient, its inputs given by environment
variables the kernel inherits. Nothing is written back into notebooks/.
"""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
EXPLORE = NOTEBOOKS / "01_explore_data.ipynb"
REVIEW = NOTEBOOKS / "02_model_review.ipynb"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(trained_store, folder_with_data):
    """Generated data (1,500 clients) and a model registered as churn@champion: the shared ones."""
    root = folder_with_data("notebooks")
    return {"root": root, "data": root / "data", "tracking_uri": trained_store.tracking_uri,
            "trained": trained_store.result}


@pytest.fixture
def crm_extract(workspace):
    """A third-party shape: only clients.csv and churn.csv, no monthly_value, an attribute renamed."""
    folder = workspace["root"] / "crm_extract"
    folder.mkdir(exist_ok=True)
    clients = pd.read_parquet(workspace["data"] / "clients.parquet")
    clients[["client_id", "signup_date", "plan"]].rename(columns={"plan": "tier"}).to_csv(
        folder / "clients.csv", index=False)
    pd.read_parquet(workspace["data"] / "churn.parquet")[["client_id", "churned_at"]].to_csv(
        folder / "churn.csv", index=False)
    return folder


def execute(path: Path, monkeypatch, tmp_path, **env: str) -> nbformat.NotebookNode:
    """Run a notebook in memory from notebooks/ (as Jupyter would); the kernel inherits `env`."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no kernel history in the home folder
    notebook = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def images(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in output.get("data", {}) for cell in notebook.cells if cell.cell_type == "code"
               for output in cell.outputs)


def text(notebook: nbformat.NotebookNode) -> str:
    """Every stream and text/plain output, joined."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") if output.output_type == "stream"
                         else output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    return [f"{output.ename}: {output.evalue}" for cell in notebook.cells for output in cell.get("outputs", [])
            if output.output_type == "error"]


@pytest.fixture
def untouched_notebooks_folder():
    """Executing must not write anything into notebooks/ (outputs stay out of the repo)."""
    before = {p: p.stat().st_mtime_ns for p in NOTEBOOKS.rglob("*")}
    yield
    assert {p: p.stat().st_mtime_ns for p in NOTEBOOKS.rglob("*")} == before


@pytest.mark.parametrize("path", [EXPLORE, REVIEW], ids=lambda p: p.name)
def test_notebook_is_saved_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.mark.parametrize("path", [EXPLORE, REVIEW], ids=lambda p: p.name)
def test_notebook_defines_no_function_or_class(path):
    """Notebooks explore and explain but define nothing: logic lives in the project."""
    source = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    assert not any(line.lstrip().startswith(("def ", "class ")) for line in source.splitlines())


def test_explore_runs_on_generated_data_and_shows_every_section(workspace, monkeypatch, tmp_path,
                                                                untouched_notebooks_folder):
    notebook = execute(EXPLORE, monkeypatch, tmp_path, CHURN_DATA=str(workspace["data"]))
    out = text(notebook)
    assert not errors(notebook)
    # clients, events, tickets, NPS, churn over time, churn by segment, churn by signal
    assert images(notebook) >= 7
    assert "portfolio NPS" in out
    assert "no row set aside" in out
    assert "skipped" not in out  # every table is present, no section says it was skipped


def test_explore_runs_on_a_crm_extract_with_only_clients_and_churn(crm_extract, monkeypatch, tmp_path,
                                                                   untouched_notebooks_folder):
    notebook = execute(EXPLORE, monkeypatch, tmp_path, CHURN_DATA=str(crm_extract))
    out = text(notebook)
    assert not errors(notebook)
    for table in ("events", "tickets", "surveys"):
        assert f"no {table} table" in out
    assert "NPS answers" not in out
    # sign-ups, churn over time, churn by segment (the renamed attribute)
    assert images(notebook) >= 3
    assert "tier" in out


def test_model_review_runs_against_the_registered_champion(workspace, monkeypatch, tmp_path,
                                                           untouched_notebooks_folder):
    notebook = execute(REVIEW, monkeypatch, tmp_path, CHURN_DATA=str(workspace["data"]),
                       MLFLOW_TRACKING_URI=workspace["tracking_uri"], CHURN_MODEL_URI="models:/churn@champion")
    out = text(notebook)
    assert not errors(notebook)
    # ROC/reliability/lift, importance, one client's waterfall
    assert images(notebook) >= 3
    assert workspace["trained"]["run_id"] in out
    assert "roc_auc" in out and "validation window" in out
    assert "reasons:" in out
    assert "top_reasons" in out
