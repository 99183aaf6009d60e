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


# Enough for a training command's few steps and its test-set measurement,
# small enough that the measurement costs nothing: a command's test split is
# always read whole (`--limit` cuts training data only).
SMALL_TRAIN_EXAMPLES = 256
SMALL_TEST_EXAMPLES = 200


@pytest.fixture(scope="session")
def small_mnist_dir(tmp_path_factory):
    """A `--data-dir` of the four standard IDX .gz files holding the first
    256 MNIST training and 200 test examples (read by the real IDX reader)."""
    from helpers import write_idx_folder

    from egan_tf.data import load_split

    folder = tmp_path_factory.mktemp("small_mnist")
    write_idx_folder(
        str(folder),
        load_split("train", limit=SMALL_TRAIN_EXAMPLES),
        load_split("test", limit=SMALL_TEST_EXAMPLES),
    )
    return str(folder)


@pytest.fixture
def tiny_models_dir(tmp_path):
    """A models folder of a tiny C, G and E (untrained, seed 0)."""
    import keras
    from helpers import TINY_EGAN

    from egan_tf.config import ClassifierConfig
    from egan_tf.networks import build_classifier, build_encoder, build_generator

    keras.utils.set_random_seed(0)
    models = tmp_path / "models"
    models.mkdir()
    build_classifier(ClassifierConfig(filters=(4,), dense_units=8)).save(
        str(models / "classifier.keras")
    )
    build_generator(TINY_EGAN).save(str(models / "generator.keras"))
    build_encoder(TINY_EGAN).save(str(models / "encoder.keras"))
    return models


@pytest.fixture(scope="module")
def shipped_export() -> str:
    """The newest version of the shipped MNIST export."""
    from helpers import newest_version

    return newest_version(os.path.join(SAVED_MODELS, "egan_defense"))


@pytest.fixture(scope="module")
def server_session(shipped_export):
    """The shipped export in a TF1 session, the loader TF Serving uses."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        session = tf.compat.v1.Session(graph=graph)
        meta_graph = tf.compat.v1.saved_model.loader.load(
            session, ["serve"], shipped_export
        )
    yield session, meta_graph
    session.close()
