"""The real tensorboard binary serves the stage-prefixed scalars of a tiny run."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import keras
import pytest
from helpers import TINY_EGAN, free_port

from egan_tf.config import (
    ClassifierConfig,
    CrossValidationConfig,
    EncoderLossConfig,
    TrainingConfig,
)
from egan_tf.networks import build_classifier
from egan_tf.training.encoder import train_encoder
from egan_tf.training.encoder_fold import EncoderRun
from egan_tf.training.gan import train_gan

TINY_TRAINING = TrainingConfig(
    epochs=1, batch_size=16, seed=0, log_every_steps=1, summary_every_steps=1
)


def _tensorboard_command():
    binary = shutil.which("tensorboard")
    if binary:
        return [binary]
    return [sys.executable, "-m", "tensorboard.main"]


def _fetch_tags(port, timeout=120):
    url = f"http://127.0.0.1:{port}/data/plugin/scalars/tags"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                tags = json.load(response)
            if any(tags.values()):
                return tags
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail("tensorboard did not serve scalar tags in time")


def test_tensorboard_serves_stage_tags(tmp_path, mnist_test):
    logdir = tmp_path / "logs"
    arrays = mnist_test.take(32)
    gan = train_gan(
        TINY_EGAN,
        TINY_TRAINING,
        arrays,
        str(tmp_path / "gan_checkpoints"),
        str(logdir / "gan"),
        show_progress=False,
    )
    keras.utils.set_random_seed(0)
    train_encoder(
        EncoderRun(
            TINY_EGAN,
            TINY_TRAINING,
            EncoderLossConfig(),
            CrossValidationConfig(folds=2, max_folds=1),
        ),
        gan.generator,
        build_classifier(ClassifierConfig(filters=(4,), dense_units=8)),
        arrays,
        str(tmp_path / "encoder_checkpoints"),
        str(logdir / "encoder"),
        show_progress=False,
    )
    port = free_port()
    process = subprocess.Popen(
        [
            *_tensorboard_command(),
            "--logdir",
            str(logdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--load_fast",
            "false",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        tags = _fetch_tags(port)
    finally:
        os.kill(process.pid, 15)
        process.wait(timeout=30)
    gan_tags = set(tags["gan"])
    assert {"gan/d_loss", "gan/g_loss", "gan/epoch_d_loss"} <= gan_tags
    encoder_tags = set(tags[os.path.join("encoder", "fold_0")])
    assert {"encoder/loss", "encoder/pixel_mse", "encoder/val_mse"} <= encoder_tags
    assert (logdir / "gan" / "config.json").is_file()
    assert (logdir / "encoder" / "config.json").is_file()
