"""The prediction table `predict` prints."""

import numpy as np

from egan_tf.datasets import dataset_spec
from egan_tf.prediction_rows import format_prediction_rows, prediction_rows


def test_prediction_table_shows_labels_truth_and_a_tally():
    outputs = {
        "label": np.array([3, 5]),
        "probabilities": np.stack([np.eye(10)[3] * 0.9, np.eye(10)[5]]),
    }
    rows = prediction_rows(["a.png", "b.png"], outputs, true_labels=[3, 4])
    text = format_prediction_rows(rows)
    lines = text.splitlines()
    assert lines[1].split()[:4] == ["a.png", "3", "0.900", "3"]
    assert lines[-1] == "1 of 2 correct"
    without_truth = format_prediction_rows(prediction_rows(["a.png"], outputs))
    assert "true" not in without_truth
    assert "correct" not in without_truth
    # Digits are their own names; other data sets' classes are named.
    digits = format_prediction_rows(rows, dataset_spec("mnist").class_names)
    assert digits == text
    named = format_prediction_rows(
        rows, dataset_spec("fashion_mnist").class_names
    ).splitlines()
    assert named[0].split()[:3] == ["source", "label", "class"]
    assert named[1].split()[:4] == ["a.png", "3", "Dress", "0.900"]
