"""Rebuilds every shipped model from scratch, in order, resuming what was cut."""

from __future__ import annotations

import os

from egan_tf.config import (
    DEFAULT_CLASSIFIER_TRAINING,
    PAPER_CROSS_VALIDATION,
    PAPER_ENCODER_TRAINING,
    PAPER_GAN_TRAINING,
    ClassifierConfig,
    EganConfig,
    EncoderLossConfig,
)
from egan_tf.data import load_mnist
from egan_tf.training.classifier import train_and_save_classifier
from egan_tf.training.encoder import train_and_save_encoder
from egan_tf.training.gan import train_and_save_gan


def reproduce_all(
    models_dir: str,
    work_dir: str,
    data_dir: str | None = None,
    logdir: str | None = None,
    show_progress: bool = True,
) -> dict[str, dict]:
    """Trains C, then the GAN, then E with the default (paper) schedules.

    Each stage checkpoints under `work_dir/<stage>`, so rerunning after an
    interruption resumes the stage that was cut and skips finished ones
    (a finished stage resumes at its last epoch and only re-saves its model).

    Returns:
        The model card of each stage, keyed by stage name.
    """
    train = load_mnist("train", data_dir)
    test = load_mnist("test", data_dir)

    def stage_logdir(stage: str) -> str | None:
        return os.path.join(logdir, stage) if logdir else None

    cards = {
        "classifier": train_and_save_classifier(
            ClassifierConfig(),
            DEFAULT_CLASSIFIER_TRAINING,
            train,
            test,
            os.path.join(work_dir, "classifier"),
            models_dir,
            stage_logdir("classifier"),
            show_progress,
        )
    }
    cards["gan"] = train_and_save_gan(
        EganConfig(),
        PAPER_GAN_TRAINING,
        train,
        os.path.join(work_dir, "gan"),
        models_dir,
        stage_logdir("gan"),
        show_progress,
    )
    cards["encoder"] = train_and_save_encoder(
        PAPER_ENCODER_TRAINING,
        EncoderLossConfig(),
        PAPER_CROSS_VALIDATION,
        models_dir,
        train,
        test,
        os.path.join(work_dir, "encoder"),
        models_dir,
        stage_logdir("encoder"),
        show_progress,
    )
    return cards
