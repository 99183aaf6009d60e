"""Tests of the classifier's custom training loop on tiny data."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import compiled_step, interrupting

from egan_tf.config import ClassifierConfig, TrainingConfig
from egan_tf.networks import build_classifier
from egan_tf.training import loop as loop_module
from egan_tf.training.classifier import make_classifier_train_step, train_classifier
from egan_tf.training.loop import TrainingInterrupted

TINY = ClassifierConfig(filters=(4, 8), dense_units=16, dropout_rate=0.0)


def test_train_step_fits_a_small_batch(mnist_test):
    keras.utils.set_random_seed(0)
    classifier = build_classifier(TINY)
    step = compiled_step(
        make_classifier_train_step(classifier, keras.optimizers.Adam(1e-2))
    )
    images = tf.cast(mnist_test.images[:32], tf.float32) / 255.0
    labels = tf.constant(mnist_test.labels[:32])
    seed = tf.constant([0, 0], tf.int64)
    first = float(step(images, labels, seed)["loss"])
    for _ in range(30):
        last = step(images, labels, seed)
    assert float(last["loss"]) < 0.5 * first
    # A batch of another size runs through the same compiled step.
    assert np.isfinite(float(step(images[:5], labels[:5], seed)["loss"]))


def test_training_resumes_from_checkpoint(tmp_path, mnist_test, monkeypatch):
    arrays = mnist_test.take(64)
    checkpoint_dir = str(tmp_path / "checkpoints")
    logdir = str(tmp_path / "logs")
    training = TrainingConfig(epochs=2, batch_size=32, seed=1)
    with monkeypatch.context() as patch:
        # Ctrl-C as the first step of epoch 2 starts (two batches an epoch).
        patch.setattr(
            loop_module,
            "compile_train_step",
            interrupting(loop_module.compile_train_step, at_call=3),
        )
        with pytest.raises(TrainingInterrupted):
            train_classifier(
                TINY, training, arrays, checkpoint_dir, logdir, show_progress=False
            )
    assert tf.train.latest_checkpoint(checkpoint_dir).endswith("ckpt-2")
    second = train_classifier(
        TINY, training, arrays, checkpoint_dir, show_progress=False
    )
    assert second.epochs_done == 2
    # Only the missing epoch was run (four steps in all), and the epoch the
    # interrupted process finished is still on record.
    assert tf.train.latest_checkpoint(checkpoint_dir).endswith("ckpt-4")
    assert [row["epoch"] for row in second.history] == [1, 2]
    with open(os.path.join(checkpoint_dir, "config.json")) as handle:
        saved = json.load(handle)
    assert saved["training"]["epochs"] == 2
    assert saved["model"]["filters"] == [4, 8]


def test_a_train_step_can_draw_from_the_blur_mixture(mnist_test):
    from egan_tf.config import BlurMixtureConfig

    keras.utils.set_random_seed(0)
    classifier = build_classifier(TINY)
    step = compiled_step(
        make_classifier_train_step(
            classifier, keras.optimizers.Adam(1e-2), BlurMixtureConfig()
        )
    )
    images = tf.cast(mnist_test.images[:16], tf.float32) / 255.0
    labels = tf.constant(mnist_test.labels[:16])
    metrics = step(images, labels, tf.constant([0, 1], tf.int64))
    assert np.isfinite(float(metrics["loss"]))


def test_train_classifier_on_the_mixture_writes_its_own_file(tmp_path, small_mnist_dir):
    from click.testing import CliRunner

    import cli

    output = tmp_path / "models"
    result = CliRunner().invoke(
        cli.main,
        [
            "train-classifier", "--blur-mixture", "--epochs", "1", "--limit", "64",
            "--data-dir", small_mnist_dir, "--batch-size", "32", "--quiet", "--output", str(output),
            "--checkpoint-dir", str(tmp_path / "checkpoints"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = json.loads((output / "classifier_mixture.json").read_text())
    assert card["stage"] == "classifier_mixture"
    assert card["augmentation"]["shake_fraction"] == 0.5
    assert card["machine_fp32_matmul_gflops"] > 0
    assert (output / "classifier_mixture.keras").is_file()
