"""Shared fixtures: the real MNIST and Fashion-MNIST from the shared folder,
the shipped models."""

from __future__ import annotations

import os

import pytest

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAVED_MODELS = os.path.join(REPOSITORY, "saved_models")
SHARED_DATA = os.path.join(os.path.dirname(REPOSITORY), "shared", "data")
SHARED_TFDS = os.path.join(SHARED_DATA, "tensorflow_datasets")
SHARED_IDX = os.path.join(SHARED_DATA, "mnist")
SHARED_FASHION_IDX = os.path.join(SHARED_DATA, "fashion_mnist")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if "TFDS_DATA_DIR" not in os.environ and os.path.isdir(SHARED_TFDS):
    os.environ["TFDS_DATA_DIR"] = SHARED_TFDS


@pytest.fixture(scope="session")
def mnist_test():
    """The 10,000 MNIST test examples, through the real tfds loader."""
    from egan_tf.data import load_split

    return load_split("test")


@pytest.fixture(scope="session")
def fashion_test():
    """The 10,000 Fashion-MNIST test examples, through the real tfds loader."""
    from egan_tf.data import load_split

    return load_split("test", dataset="fashion_mnist")
