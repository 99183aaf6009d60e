"""The notebooks run top to bottom on a small subset, so that they cannot rot."""

import os

import nbformat
import pytest
from conftest import REPOSITORY
from nbclient import NotebookClient

NOTEBOOKS = os.path.join(REPOSITORY, "notebooks")


FASHION_MODELS = os.path.join(REPOSITORY, "saved_models", "fashion_mnist")
# The notebooks run the defences beyond the paper too, so they wait for the
# whole shipment, not for the first networks of it (shipped stage by stage).
FASHION_SHIPMENT = (
    "generator.keras",
    "encoder.keras",
    "encoder_blur.keras",
    "classifier_augment.keras",
    "classifier_mixture.keras",
    "blur_estimator.keras",
    "defense.json",
    "bf16_margin.json",
)
FASHION = pytest.param(
    "fashion_mnist",
    marks=pytest.mark.skipif(
        not all(
            os.path.isfile(os.path.join(FASHION_MODELS, name))
            for name in FASHION_SHIPMENT
        ),
        reason="Fashion-MNIST's networks are not all shipped yet",
    ),
)


@pytest.mark.parametrize("dataset", ["mnist", FASHION])
@pytest.mark.parametrize(
    ("name", "needles", "figures"),
    [
        ("reproduce_paper.ipynb", ("Table 1", "ours / paper"), 3),
        ("beyond_the_paper.ipynb", ("best EGAN - none", "spatial blur"), 1),
    ],
)
def test_notebook_executes(monkeypatch, name, needles, figures, dataset):
    monkeypatch.setenv("EGAN_NOTEBOOK_LIMIT", "10")
    monkeypatch.setenv("EGAN_NOTEBOOK_DATASET", dataset)
    path = os.path.join(NOTEBOOKS, name)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": NOTEBOOKS}},
    )
    client.execute()
    outputs = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    for needle in (*needles, f"{dataset} test images"):
        assert needle in outputs
    images = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert len(images) >= figures


@pytest.mark.parametrize("name", ["reproduce_paper.ipynb", "beyond_the_paper.ipynb"])
def test_the_rescaled_grid_takes_the_data_set_s_length_scale(monkeypatch, name):
    from egan_tf.datasets import dataset_spec

    monkeypatch.setenv("EGAN_NOTEBOOK_DATASET", "fashion_mnist")
    monkeypatch.delenv("EGAN_NOTEBOOK_LENGTH_SCALE", raising=False)
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    # The first code cell holds the parameters; it needs no networks.
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code"][:1]
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": NOTEBOOKS}},
    ).execute()
    printed = "".join(output.get("text", "") for output in notebook.cells[0].outputs)
    scale = dataset_spec("fashion_mnist").length_scale
    assert f"rescaled grid: lengths x {scale:g}" in printed
