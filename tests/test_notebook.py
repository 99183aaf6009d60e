"""The notebook runs top to bottom on a small subset, so that it cannot rot."""

import os

import nbformat
from conftest import REPOSITORY
from nbclient import NotebookClient

NOTEBOOK = os.path.join(REPOSITORY, "notebooks", "reproduce_paper.ipynb")


def test_notebook_executes(monkeypatch):
    monkeypatch.setenv("EGAN_NOTEBOOK_LIMIT", "30")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": os.path.dirname(NOTEBOOK)}},
    )
    client.execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "Table 1" in outputs
    assert "ours / paper" in outputs
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= 3
