"""Tests of the encoder stage: loss terms, k-fold training, resumption."""

import dataclasses
import json
import os
import subprocess
import sys
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_EGAN, compiled_step

from egan_tf.config import (
    ClassifierConfig,
    CrossValidationConfig,
    EncoderLossConfig,
    SettlingConfig,
    TrainingConfig,
)
from egan_tf.networks import build_classifier, build_encoder, build_generator
from egan_tf.training.encoder import train_encoder, train_encoder_folds
from egan_tf.training.encoder_fold import EncoderRun
from egan_tf.training.encoder_step import make_encoder_train_step, settling_schedule
from egan_tf.training.fold_claims import FOLD_CLAIM_FILE

TINY_CLASSIFIER = ClassifierConfig(filters=(4,), dense_units=8)


@pytest.fixture(scope="module")
def frozen_networks():
    keras.utils.set_random_seed(0)
    return build_generator(TINY_EGAN), build_classifier(TINY_CLASSIFIER)


@pytest.mark.parametrize(
    ("loss_config", "expected_terms"),
    [
        (EncoderLossConfig(1.0, 0.0, 0.0), {"loss", "pixel_mse"}),
        (EncoderLossConfig(1.0, 0.1, 0.0), {"loss", "pixel_mse", "latent_cycle"}),
        (EncoderLossConfig(1.0, 0.0, 0.1), {"loss", "pixel_mse", "classifier_kl"}),
        (
            EncoderLossConfig(1.0, 0.1, 0.1),
            {"loss", "pixel_mse", "latent_cycle", "classifier_kl"},
        ),
    ],
)
def test_train_step_terms_and_frozen_generator(
    frozen_networks, mnist_test, loss_config, expected_terms
):
    generator, classifier = frozen_networks
    encoder = build_encoder(TINY_EGAN)
    generator_weights = [w.copy() for w in generator.get_weights()]
    step = compiled_step(
        make_encoder_train_step(
            encoder, generator, classifier, keras.optimizers.Adam(1e-2), loss_config
        )
    )
    images = tf.cast(mnist_test.images[:16], tf.float32) / 255.0
    labels = tf.constant(mnist_test.labels[:16])
    seed = tf.constant([0, 1], tf.int64)
    first = step(images, labels, seed)
    for _ in range(10):
        last = step(images, labels, seed)
    assert set(first) == expected_terms
    assert float(last["pixel_mse"]) < float(first["pixel_mse"])
    for before, after in zip(generator_weights, generator.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


def test_classifier_term_needs_a_classifier(frozen_networks):
    generator, _ = frozen_networks
    with pytest.raises(ValueError, match=r"Received: classifier_weight=0\.1"):
        make_encoder_train_step(
            build_encoder(TINY_EGAN),
            generator,
            None,
            keras.optimizers.Adam(),
            EncoderLossConfig(1.0, 0.0, 0.1),
        )


def _three_fold_run(frozen_networks, mnist_test, checkpoint_dir, epochs):
    """`train_encoder`'s arguments for three folds of 20 images each."""
    generator, classifier = frozen_networks
    return {
        "run": EncoderRun(
            TINY_EGAN,
            TrainingConfig(epochs=epochs, batch_size=16, seed=0),
            EncoderLossConfig(),
            CrossValidationConfig(folds=3),
        ),
        "generator": generator,
        "classifier": classifier,
        "train_arrays": mnist_test.take(60),
        "checkpoint_dir": checkpoint_dir,
        "show_progress": False,
    }


def test_cross_validation_keeps_the_best_fold_and_resumes(
    tmp_path, frozen_networks, mnist_test
):
    checkpoint_dir = str(tmp_path / "checkpoints")
    arguments = _three_fold_run(frozen_networks, mnist_test, checkpoint_dir, epochs=2)
    arguments["logdir"] = str(tmp_path / "logs")
    result = train_encoder(**arguments)
    assert [record["fold"] for record in result.folds] == [0, 1, 2]
    for record in result.folds:
        assert record["train_examples"] == 40
        assert record["validation_examples"] == 20
        assert [entry["epoch"] for entry in record["history"]] == [1, 2]
    best = min(result.folds, key=lambda record: record["val_mse"])
    assert result.best_fold == best["fold"]
    with open(os.path.join(checkpoint_dir, "fold_metrics.json")) as handle:
        assert set(json.load(handle)) == {"0", "1", "2"}
    # A rerun finds every fold finished and trains nothing again.
    modified = os.path.getmtime(os.path.join(checkpoint_dir, "fold_0.keras"))
    again = train_encoder(**arguments)
    assert again.best_fold == result.best_fold
    assert os.path.getmtime(os.path.join(checkpoint_dir, "fold_0.keras")) == modified


def test_latent_size_mismatch_is_reported(tmp_path, frozen_networks, mnist_test):
    generator, classifier = frozen_networks
    with pytest.raises(ValueError, match="latent_dim=9"):
        train_encoder(
            EncoderRun(
                TINY_EGAN.__class__(**{**TINY_EGAN.__dict__, "latent_dim": 9}),
                TrainingConfig(epochs=1, batch_size=16),
                EncoderLossConfig(),
                CrossValidationConfig(folds=2),
            ),
            generator,
            classifier,
            mnist_test.take(20),
            str(tmp_path),
            show_progress=False,
        )


def test_folds_another_process_trains_are_left_to_it_then_waited_for(
    tmp_path, frozen_networks, mnist_test, caplog
):
    """Two processes may train one run's folds at once: each claims a fold
    before training it. A helper leaves claimed folds alone and returns; the
    run that keeps the best fold waits for them, and takes over a fold whose
    process ended without finishing it."""
    checkpoint_dir = tmp_path / "checkpoints"
    checkpoint_dir.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable, "-c",
            "import sys, time\n"
            "from egan_tf.folder_lock import FolderLock\n"
            "lock = FolderLock(sys.argv[1], sys.argv[2])\n"
            "print('held', flush=True)\n"
            "time.sleep(600)\n",
            str(checkpoint_dir), FOLD_CLAIM_FILE.format(fold=0),
        ],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        arguments = _three_fold_run(
            frozen_networks, mnist_test, str(checkpoint_dir), epochs=1
        )
        records, written = train_encoder_folds(**arguments, wait_for_others=False)
        assert sorted(written) == [1, 2]
        assert set(records) == {"1", "2"}
        assert not (checkpoint_dir / "fold_0.keras").exists()
        modified = os.path.getmtime(checkpoint_dir / "fold_1.keras")
        # The holder ends (as a killed run would) while the keeper waits.
        threading.Timer(2.0, holder.kill).start()
        result = train_encoder(**arguments)
    finally:
        holder.kill()
        holder.wait()
    assert "Waiting for fold(s) 0, trained by another process." in caplog.text
    assert [record["fold"] for record in result.folds] == [0, 1, 2]
    assert os.path.getmtime(checkpoint_dir / "fold_1.keras") == modified
    with open(checkpoint_dir / "fold_metrics.json") as handle:
        assert set(json.load(handle)) == {"0", "1", "2"}


def test_settling_trains_the_kept_fold_on_and_is_not_repeated(
    tmp_path, frozen_networks, mnist_test
):
    checkpoint_dir = str(tmp_path / "checkpoints")
    arguments = _three_fold_run(frozen_networks, mnist_test, checkpoint_dir, epochs=1)
    arguments["run"] = dataclasses.replace(
        arguments["run"], settling=SettlingConfig(epochs=2, learning_rate=1e-2)
    )
    result = train_encoder(**arguments)
    settled = result.settling
    # Settling continues the kept fold on that fold's own split.
    assert settled["fold"] == result.best_fold
    assert (settled["train_examples"], settled["validation_examples"]) == (40, 20)
    assert [entry["epoch"] for entry in settled["history"]] == [1, 2]
    kept = keras.models.load_model(
        os.path.join(checkpoint_dir, f"fold_{result.best_fold}.keras")
    )
    assert any(
        not np.array_equal(before, after)
        for before, after in zip(
            kept.get_weights(), result.encoder.get_weights(), strict=True
        )
    )
    assert result.wall_seconds == pytest.approx(
        sum(record["wall_seconds"] for record in result.folds) + settled["wall_seconds"]
    )
    # A rerun reads the settled encoder back instead of settling again.
    settled_file = os.path.join(checkpoint_dir, "settled.keras")
    modified = os.path.getmtime(settled_file)
    again = train_encoder(**arguments)
    assert os.path.getmtime(settled_file) == modified
    assert again.settling == settled
    for before, after in zip(
        result.encoder.get_weights(), again.encoder.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(before, after)


def test_settling_trains_with_its_own_classifier_temperature(
    tmp_path, frozen_networks, mnist_test
):
    encoders, folds = {}, {}
    for temperature in (1.0, 4.0):
        checkpoint_dir = str(tmp_path / f"temperature_{temperature:g}")
        arguments = _three_fold_run(
            frozen_networks, mnist_test, checkpoint_dir, epochs=1
        )
        arguments["run"] = dataclasses.replace(
            arguments["run"],
            settling=SettlingConfig(
                epochs=1, learning_rate=1e-2, classifier_temperature=temperature
            ),
        )
        result = train_encoder(**arguments)
        encoders[temperature] = result.encoder.get_weights()
        folds[temperature] = [record["val_mse"] for record in result.folds]
    # The folds train at the loss's temperature (1) in both runs; only
    # settling's term differs.
    assert folds[1.0] == folds[4.0]
    assert any(
        not np.array_equal(plain, softened)
        for plain, softened in zip(encoders[1.0], encoders[4.0], strict=True)
    )


def test_settling_step_decays_from_its_rate_to_zero():
    schedule = settling_schedule(SettlingConfig(epochs=3, learning_rate=0.2), 5)
    assert float(schedule(0)) == pytest.approx(0.2)
    assert float(schedule(7)) == pytest.approx(0.1 * (1 + np.cos(np.pi * 7 / 15)))
    assert float(schedule(15)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"epochs": 0}, r"Received: epochs=0"),
        ({"epochs": 2, "learning_rate": 0.0}, r"Received: learning_rate=0\.0"),
        ({"epochs": 2, "learning_rate": float("inf")}, r"Received: learning_rate=inf"),
        (
            {"epochs": 2, "classifier_temperature": 0.0},
            r"Received: classifier_temperature=0\.0",
        ),
    ],
)
def test_settling_config_rejects_what_cannot_train(fields, message):
    with pytest.raises(ValueError, match=message):
        SettlingConfig(**fields)


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("inf"), float("nan")])
def test_encoder_loss_rejects_a_temperature_that_cannot_soften(temperature):
    with pytest.raises(ValueError, match="Received: classifier_temperature="):
        EncoderLossConfig(classifier_temperature=temperature)
