"""The models shipped in saved_models/ measured on the real MNIST test set."""

import json
import os

import pytest
from conftest import SAVED_MODELS

from egan_tf.evaluation import evaluate_clean
from egan_tf.model_io import (
    CLASSIFIER_FILE,
    ModelFileError,
    load_model,
    load_shipped_models,
)


def _card(name):
    with open(os.path.join(SAVED_MODELS, name)) as handle:
        return json.load(handle)


def test_shipped_classifier_reaches_target_accuracy(mnist_test):
    record = evaluate_clean(load_shipped_models(SAVED_MODELS), mnist_test)
    assert record.examples == 10000
    assert record.clean_accuracy >= 0.992
    assert record.clean_accuracy == pytest.approx(
        _card("classifier.json")["test_accuracy"], abs=1e-4
    )


def test_missing_model_file_is_one_clear_line(tmp_path):
    with pytest.raises(ModelFileError, match="Model file not found"):
        load_shipped_models(str(tmp_path))


def test_shape_mismatch_names_file_and_shapes():
    path = os.path.join(SAVED_MODELS, CLASSIFIER_FILE)
    with pytest.raises(ModelFileError) as raised:
        load_model(path, expected_input_shape=(32, 32, 3))
    assert path in str(raised.value)
    assert "(28, 28, 1)" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_corrupt_model_file_is_one_clear_line(tmp_path):
    path = tmp_path / "classifier.keras"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ModelFileError, match="Cannot load"):
        load_model(str(path))
