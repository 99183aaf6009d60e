"""Tests of the second data set: what each data set is, loading Fashion-MNIST
through tfds and its IDX files, and the guards that keep the data sets'
networks apart."""

import json
import os

import numpy as np
import pytest
from conftest import SAVED_MODELS, SHARED_FASHION_IDX, SHARED_TFDS

from egan_tf.config import DataConfig
from egan_tf.data import DataNotFoundError, dataset_of, load_split
from egan_tf.datasets import DATASETS, DatasetName, dataset_spec
from egan_tf.model_files import check_trained_on, trained_data_set


@pytest.mark.skipif(not os.path.isdir(SHARED_TFDS), reason="no TFDS folder")
def test_class_names_are_the_data_sets_own():
    # TFDS keeps Fashion-MNIST's class names beside the prepared data.
    path = os.path.join(SHARED_TFDS, "fashion_mnist", "3.0.1", "label.labels.txt")
    with open(path, encoding="utf-8") as handle:
        names = tuple(line.strip() for line in handle if line.strip())
    assert dataset_spec("fashion_mnist").class_names == names
    assert dataset_spec("mnist").class_names == tuple("0123456789")


def test_every_data_set_has_ten_classes_and_its_own_models_folder():
    folders = {spec.models_folder("/models") for spec in DATASETS.values()}
    assert folders == {"/models", "/models/fashion_mnist"}
    assert all(spec.num_classes == 10 for spec in DATASETS.values())


@pytest.mark.parametrize("name", list(DatasetName))
def test_the_length_scale_is_the_one_the_shipped_scan_found(name):
    # The rule of the README: the smallest scale at which C falls below the
    # paper's Table 2 at every l >= 0.03.
    spec = dataset_spec(name)
    path = os.path.join(spec.models_folder(SAVED_MODELS), "length_scale_scan.json")
    with open(path, encoding="utf-8") as handle:
        scan = json.load(handle)["scales"]
    falls = [
        record["length_scale"]
        for record in scan
        if record["below_paper_table_2_for_l_ge_0.03"] == "12/12"
    ]
    assert spec.length_scale == min(falls)


def test_an_unknown_data_set_is_one_line_naming_the_known_ones():
    with pytest.raises(
        ValueError, match=r"mnist, fashion_mnist\. Received: dataset='cifar10'"
    ):
        dataset_spec("cifar10")
    with pytest.raises(ValueError, match="Received: dataset='emnist'"):
        DataConfig("emnist")


def test_fashion_mnist_loads_through_tfds(fashion_test, mnist_test):
    assert fashion_test.images.shape == (10000, 28, 28, 1)
    assert fashion_test.images.dtype == np.uint8
    # Fashion-MNIST's test split is balanced: 1,000 of every class.
    assert np.bincount(fashion_test.labels).tolist() == [1000] * 10
    assert dataset_of(fashion_test) == "fashion_mnist"
    assert dataset_of(mnist_test) == "mnist"
    assert fashion_test.provenance.dataset == "fashion_mnist"
    # Articles are not digits: far more of the frame is lit.
    assert fashion_test.images.mean() > 1.5 * mnist_test.images.mean()


@pytest.mark.skipif(not os.path.isdir(SHARED_FASHION_IDX), reason="no IDX folder")
def test_fashion_mnist_idx_files_hold_the_same_examples(fashion_test):
    from_idx = load_split("test", SHARED_FASHION_IDX, dataset="fashion_mnist")
    assert from_idx.provenance.dataset == "fashion_mnist"
    assert from_idx.provenance.source == "idx"
    order = np.lexsort(from_idx.images.reshape(10000, -1).T)
    tfds_order = np.lexsort(fashion_test.images.reshape(10000, -1).T)
    np.testing.assert_array_equal(
        from_idx.images[order], fashion_test.images[tfds_order]
    )
    np.testing.assert_array_equal(
        from_idx.labels[order], fashion_test.labels[tfds_order]
    )


def test_a_missing_fashion_mnist_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="Fashion-MNIST not found"):
        load_split("test", dataset="fashion_mnist")


def test_selections_keep_the_data_set(fashion_test):
    subset = fashion_test.select(np.array([5, 1, 3]))
    assert dataset_of(subset) == "fashion_mnist"
    assert subset.provenance.examples == 3
    np.testing.assert_array_equal(subset.labels, fashion_test.labels[[5, 1, 3]])


def _card(folder, name, **fields):
    import json

    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"stage": name[:-5], **fields}))


def test_networks_of_another_data_set_are_refused(tmp_path):
    _card(tmp_path / "fashion", "classifier.json", dataset="fashion_mnist")
    _card(tmp_path / "old", "gan.json")  # cards from before the data set was recorded
    (tmp_path / "empty").mkdir()
    assert trained_data_set(str(tmp_path / "fashion"))[0] == "fashion_mnist"
    assert trained_data_set(str(tmp_path / "old"))[0] == DatasetName.MNIST
    assert trained_data_set(str(tmp_path / "empty")) is None
    check_trained_on(str(tmp_path / "fashion"), "fashion_mnist")
    check_trained_on(str(tmp_path / "empty"), "fashion_mnist")
    with pytest.raises(ValueError, match=r"trained on mnist .*pass --dataset mnist"):
        check_trained_on(str(tmp_path / "old"), "fashion_mnist")


def test_the_refusal_names_the_data_set_as_the_user_typed_it(tmp_path):
    """The CLI passes the enum; its repr (<DatasetName.FASHION_MNIST: ...>)
    once ended the one-line error."""
    _card(tmp_path / "digits", "classifier.json", dataset="mnist")
    with pytest.raises(ValueError, match=r"Received: dataset='fashion_mnist'$"):
        check_trained_on(str(tmp_path / "digits"), DatasetName.FASHION_MNIST)
