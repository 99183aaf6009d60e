"""Tests of the grid evaluator, its reports and its outputs, on tiny models."""

import csv
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_EGAN

from egan_tf.blur import apply_motion_blur
from egan_tf.config import ClassifierConfig
from egan_tf.data import to_unit_interval
from egan_tf.evaluation import evaluate_clean
from egan_tf.grid import evaluate_grid
from egan_tf.grid_outputs import EXAMPLES_FILE, HEATMAPS_FILE, write_grid_outputs
from egan_tf.grid_spec import GridSpec
from egan_tf.metrics import wilson_interval
from egan_tf.model_io import ShippedModels
from egan_tf.networks import build_classifier, build_encoder, build_generator
from egan_tf.reporting import format_clean_record, format_grid

LENGTHS = (0.1, 0.3)
ANGLES = (0.0, 45.0, 90.0)


@pytest.fixture(scope="module")
def tiny_models():
    keras.utils.set_random_seed(0)
    return ShippedModels(
        build_classifier(ClassifierConfig(filters=(4,), dense_units=8)),
        build_generator(TINY_EGAN),
        build_encoder(TINY_EGAN),
    )


@pytest.fixture(scope="module")
def grid_result(tiny_models, mnist_test):
    return evaluate_grid(
        tiny_models,
        mnist_test.take(37),
        GridSpec(LENGTHS, ANGLES, 2.0, batch_size=10),
        show_progress=False,
    )


def _labels(model_output):
    return np.argmax(np.asarray(model_output), axis=-1)


def test_grid_matches_a_per_setting_computation(tiny_models, mnist_test, grid_result):
    arrays = mnist_test.take(37)
    clean = to_unit_interval(arrays.images)
    subset = _labels(tiny_models.classifier(clean)) == arrays.labels
    assert grid_result.grid[0].subset_examples == int(subset.sum())
    for length in LENGTHS:
        for angle in ANGLES:
            blurred = apply_motion_blur(clean, length * 2.0, angle)
            plain = _labels(tiny_models.classifier(blurred)) == arrays.labels
            restored = tiny_models.generator(tiny_models.encoder(blurred))
            defended = _labels(tiny_models.classifier(restored)) == arrays.labels
            point = grid_result.point(length, angle)
            assert point.applied_length == pytest.approx(length * 2.0)
            assert point.accuracy_blurred_all == pytest.approx(plain.mean())
            assert point.accuracy_defended_all == pytest.approx(defended.mean())
            expected_subset = plain[subset].mean() if subset.any() else 0.0
            assert point.accuracy_blurred == pytest.approx(expected_subset)
            low, high = point.intervals["accuracy_blurred_all"]
            assert low <= point.accuracy_blurred_all <= high


def test_clean_figures_match_clean_evaluation(tiny_models, mnist_test, grid_result):
    record = evaluate_clean(tiny_models, mnist_test.take(37))
    assert grid_result.clean_accuracy == pytest.approx(record.clean_accuracy)
    assert grid_result.egan_accuracy == pytest.approx(record.egan_accuracy)
    assert len(grid_result.grid) == len(LENGTHS) * len(ANGLES)


def test_wilson_interval_known_value():
    low, high = wilson_interval(90, 100)
    assert low == pytest.approx(0.8256, abs=1e-4)
    assert high == pytest.approx(0.9448, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("field", "values", "needle"),
    [
        ("lengths", [], "must not be empty"),
        ("lengths", [0.1, -0.2], "at least 0"),
        ("angles", [float("nan")], "finite"),
    ],
)
def test_grid_values_are_validated(field, values, needle):
    with pytest.raises(ValueError, match=needle):
        GridSpec(**{field: values})


def test_text_report_has_the_three_tables(grid_result):
    text = format_grid(grid_result)
    assert "Table 1" in text
    assert "Table 2" in text
    assert "Difference" in text
    assert "EGAN clean accuracy" in text
    assert "lengths x 2" in text


def test_outputs_have_documented_keys_and_no_temporary_files(
    tmp_path, tiny_models, mnist_test, grid_result
):
    written = write_grid_outputs(
        grid_result,
        tiny_models,
        mnist_test.take(37),
        json_path=str(tmp_path / "grid.json"),
        csv_path=str(tmp_path / "grid.csv"),
        figures_dir=str(tmp_path / "figures"),
        logdir=str(tmp_path / "logs"),
    )
    assert len(written) == 5
    payload = json.loads((tmp_path / "grid.json").read_text())
    assert {"clean_accuracy", "egan_accuracy", "length_scale", "grid"} <= set(payload)
    assert payload["length_scale"] == 2.0
    row = payload["grid"][0]
    assert (row["length"], row["angle"]) == (LENGTHS[0], ANGLES[0])
    for key in (
        "accuracy_blurred",
        "accuracy_defended",
        "accuracy_blurred_all",
        "accuracy_defended_all",
    ):
        assert 0.0 <= row[key] <= 1.0
    with open(tmp_path / "grid.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(LENGTHS) * len(ANGLES)
    assert float(rows[0]["accuracy_blurred_all"]) == pytest.approx(
        row["accuracy_blurred_all"]
    )
    assert (tmp_path / "figures" / HEATMAPS_FILE).stat().st_size > 1000
    assert (tmp_path / "figures" / EXAMPLES_FILE).stat().st_size > 1000
    assert not list(tmp_path.rglob("*.tmp*"))
    events = list((tmp_path / "logs").glob("events.out.tfevents*"))
    tags = {
        value.tag
        for event in tf.compat.v1.train.summary_iterator(str(events[0]))
        for value in event.summary.value
    }
    assert "grid/blurred_angle_45" in tags


def test_clean_evaluation_compiles_once_for_the_same_networks(tiny_models, mnist_test):
    from egan_tf import evaluation

    arrays = mnist_test.take(37)
    evaluate_clean(tiny_models, arrays, batch_size=16)
    traces = evaluation._egan_batch.experimental_get_tracing_count()
    again = evaluate_clean(tiny_models, arrays, batch_size=16)
    assert evaluation._egan_batch.experimental_get_tracing_count() == traces
    assert again == evaluate_clean(tiny_models, arrays, batch_size=16)


def test_clean_evaluation_measures_every_class(tiny_models, fashion_test):
    arrays = fashion_test.take(60)
    record = evaluate_clean(tiny_models, arrays)
    per_class = record.per_class
    assert [item["label"] for item in per_class] == sorted(set(arrays.labels))
    assert sum(item["examples"] for item in per_class) == 60
    for name in ("plain_accuracy", "defended_accuracy", "reconstruction_mse"):
        weighted = sum(item[name] * item["examples"] for item in per_class) / 60
        overall = {
            "plain_accuracy": record.clean_accuracy,
            "defended_accuracy": record.egan_accuracy,
            "reconstruction_mse": record.reconstruction_mse,
        }[name]
        assert weighted == pytest.approx(overall, rel=1e-5)
    # The table names Fashion-MNIST's classes.
    text = format_clean_record(record)
    assert "Per class:" in text
    assert "Ankle boot" in text or "T-shirt/top" in text
