"""Tests of MNIST loading through the real tfds loader and the IDX fallback."""

import hashlib
import os

import numpy as np
import pytest
from conftest import SHARED_IDX

from egan_tf.data import (
    DataNotFoundError,
    MnistArrays,
    epoch_order,
    iterate_batches,
    kfold_indices,
    load_mnist,
    num_batches,
    to_unit_interval,
)


def _example_hashes(arrays):
    return sorted(
        hashlib.sha1(image.tobytes() + bytes([label])).hexdigest()
        for image, label in zip(arrays.images, arrays.labels, strict=True)
    )


def test_tfds_test_split_shapes_and_counts(mnist_test):
    assert mnist_test.images.shape == (10000, 28, 28, 1)
    assert mnist_test.images.dtype == np.uint8
    assert mnist_test.labels.dtype == np.int64
    assert np.bincount(mnist_test.labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009,
    ]  # fmt: skip


@pytest.mark.skipif(not os.path.isdir(SHARED_IDX), reason="no IDX folder")
def test_idx_files_hold_the_same_examples_as_tfds(mnist_test):
    from_idx = load_mnist("test", data_dir=SHARED_IDX)
    assert from_idx.images.shape == mnist_test.images.shape
    assert _example_hashes(from_idx) == _example_hashes(mnist_test)


def test_missing_data_names_both_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(DataNotFoundError) as raised:
        load_mnist("test")
    assert "TFDS_DATA_DIR" in str(raised.value)
    assert "--data-dir" in str(raised.value)
    with pytest.raises(DataNotFoundError, match="--data-dir"):
        load_mnist("test", data_dir=str(tmp_path / "absent"))


def test_unknown_split_is_a_value_error():
    with pytest.raises(ValueError, match="Received: split='validation'"):
        load_mnist("validation")


def test_unit_interval_scaling():
    scaled = to_unit_interval(np.array([0, 128, 255], np.uint8)).numpy()
    np.testing.assert_allclose(scaled, [0.0, 128 / 255, 1.0])
    assert scaled.dtype == np.float32


def test_epoch_order_depends_only_on_seed_and_epoch():
    np.testing.assert_array_equal(epoch_order(100, 3, 7), epoch_order(100, 3, 7))
    assert not np.array_equal(epoch_order(100, 3, 7), epoch_order(100, 3, 8))
    assert sorted(epoch_order(100, 3, 7)) == list(range(100))


def test_batches_keep_the_last_partial_batch_and_resume():
    arrays = MnistArrays(
        np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1).repeat(28, 1).repeat(28, 2),
        np.arange(10, dtype=np.int64),
    )
    order = np.arange(10)
    sizes = [labels.shape[0] for _, labels in iterate_batches(arrays, order, 4)]
    assert sizes == [4, 4, 2]
    assert num_batches(10, 4) == 3
    resumed = [
        labels.numpy().tolist() for _, labels in iterate_batches(arrays, order, 4, 2)
    ]
    assert resumed == [[8, 9]]


def test_kfold_partitions_the_examples():
    validations = []
    for fold in range(5):
        train, validation = kfold_indices(103, 5, fold, seed=0)
        assert len(train) + len(validation) == 103
        assert not set(train) & set(validation)
        validations.append(validation)
    assert sorted(np.concatenate(validations).tolist()) == list(range(103))
    with pytest.raises(ValueError, match="Received: fold=5"):
        kfold_indices(103, 5, 5, seed=0)
