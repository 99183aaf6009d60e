"""Tests of the blur estimator's network, loss and training."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import compiled_step

from egan_tf import losses
from egan_tf.config import BlurEstimatorConfig, BlurSamplingConfig, TrainingConfig
from egan_tf.networks import build_blur_estimator
from egan_tf.training.blur_estimator import (
    angle_error_degrees,
    make_blur_estimator_train_step,
    train_and_save_blur_estimator,
)

TINY = BlurEstimatorConfig(filters=(4, 8), dense_units=8)


def test_network_shape_and_name():
    model = build_blur_estimator(TINY)
    assert model.name == "blur_estimator"
    output = model(np.zeros([3, 28, 28, 1], np.float32)).numpy()
    assert output.shape == (3, 3)
    assert np.all(output[:, 0] >= 0)  # softplus length


def test_loss_is_zero_for_the_truth_and_ignores_direction_without_blur():
    length = tf.constant([0.2, 0.0])
    angle = tf.constant([90.0, 10.0])
    truth = tf.constant([[0.2, 0.0, 1.0], [0.0, -1.0, 0.0]])
    np.testing.assert_allclose(
        losses.blur_estimation_loss(truth, length, angle, 0.4), [0, 0], atol=1e-6
    )
    wrong_direction = tf.constant([[0.2, 0.0, -1.0], [0.0, 1.0, 1.0]])
    loss = losses.blur_estimation_loss(wrong_direction, length, angle, 0.4).numpy()
    assert loss[0] == pytest.approx(0.5 * 4.0)
    assert loss[1] == pytest.approx(0.0)


def test_angle_error_wraps_around_the_circle():
    directions = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, 0.0]])
    np.testing.assert_allclose(
        angle_error_degrees(directions, np.array([350.0, 80.0, 0.0])),
        [10.0, 10.0, 180.0],
    )


def test_a_few_steps_lower_the_loss(mnist_test):
    keras.utils.set_random_seed(0)
    model = build_blur_estimator(TINY)
    step = compiled_step(
        make_blur_estimator_train_step(
            model, keras.optimizers.Adam(3e-3), BlurSamplingConfig()
        )
    )
    images = tf.constant(mnist_test.images[:64].astype(np.float32) / 255.0)
    labels = tf.zeros([64], tf.int64)
    seed = tf.constant([0, 0], tf.int64)
    first = float(step(images, labels, seed)["loss"])
    for _ in range(30):
        last = float(step(images, labels, seed)["loss"])
    assert last < 0.7 * first


def test_train_and_save_writes_model_and_card(tmp_path, mnist_test):
    card = train_and_save_blur_estimator(
        TINY,
        TrainingConfig(epochs=1, batch_size=32),
        BlurSamplingConfig(),
        mnist_test.take(96),
        mnist_test.take(40),
        str(tmp_path / "checkpoints"),
        str(tmp_path),
        validation_examples=32,
        show_progress=False,
    )
    assert (tmp_path / "blur_estimator.keras").is_file()
    saved = json.loads((tmp_path / "blur_estimator.json").read_text())
    assert saved["train_examples"] == 64
    assert saved["test_random_blur"]["examples"] == 40
    assert card["stage"] == "blur_estimator"
    with pytest.raises(ValueError, match="validation_examples"):
        train_and_save_blur_estimator(
            TINY, TrainingConfig(epochs=1, batch_size=32), BlurSamplingConfig(),
            mnist_test.take(10), mnist_test.take(10), str(tmp_path / "c2"),
            str(tmp_path), validation_examples=10, show_progress=False,
        )  # fmt: skip
