"""Rebuilds every shipped model from scratch, in order, resuming what was cut."""

from __future__ import annotations

import os

from egan_tf.config import (
    BLUR_ENCODER_TRAINING,
    DEFAULT_BLUR_ESTIMATOR_TRAINING,
    PAPER_CROSS_VALIDATION,
    PAPER_ENCODER_TRAINING,
    PAPER_GAN_TRAINING,
    BlurEstimatorConfig,
    BlurMixtureConfig,
    BlurSamplingConfig,
    ClassifierConfig,
    EganConfig,
    EncoderLossConfig,
    classifier_training,
)
from egan_tf.data_paths import DataSource
from egan_tf.training.blur_estimator import train_and_save_blur_estimator
from egan_tf.training.classifier import train_and_save_classifier
from egan_tf.training.encoder import train_and_save_encoder
from egan_tf.training.gan import train_and_save_gan
from egan_tf.training.runtime import Runtime


def reproduce_all(
    models_dir: str,
    work_dir: str,
    data: DataSource | None = None,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> dict[str, dict]:
    """Trains C, then the GAN, then E with the default (paper) schedules, then
    the beyond-the-paper networks: E_blur, C_aug, C_mix and the blur
    estimator B.

    Each stage checkpoints under `work_dir/<stage>`, so rerunning after an
    interruption resumes the stage that was cut and skips finished ones
    (a finished stage resumes at its last epoch and only re-saves its model).

    Every stage trains on `data`'s training split (MNIST through TFDS if
    None) and is measured on its whole test split, under `runtime` (one
    device in float32 if None).

    Returns:
        The model card of each stage, keyed by stage name.
    """
    runtime = runtime or Runtime.create()
    data = data or DataSource()
    classifier_schedule = classifier_training(data.dataset)
    train = data.load("train")
    test = data.load("test")

    def stage_logdir(stage: str) -> str | None:
        return os.path.join(logdir, stage) if logdir else None

    cards = {
        "classifier": train_and_save_classifier(
            ClassifierConfig(),
            classifier_schedule,
            train,
            test,
            os.path.join(work_dir, "classifier"),
            models_dir,
            stage_logdir("classifier"),
            show_progress,
            runtime=runtime,
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
        runtime=runtime,
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
        runtime=runtime,
    )
    # Beyond the paper: the blur-aware encoder, the augmented classifier and
    # the blur estimator, all trained on the same random blur distribution.
    blur = BlurSamplingConfig()
    cards["encoder_blur"] = train_and_save_encoder(
        BLUR_ENCODER_TRAINING,
        EncoderLossConfig(),
        PAPER_CROSS_VALIDATION,
        models_dir,
        train,
        test,
        os.path.join(work_dir, "encoder_blur"),
        models_dir,
        stage_logdir("encoder_blur"),
        show_progress,
        input_blur=blur,
        runtime=runtime,
    )
    # C's architecture trained on blurred images: C_aug on the Fourier
    # model's random blur, C_mix on issue 12's camera-blur mixture.
    for stage, augmentation in (
        ("classifier_augment", blur),
        ("classifier_mixture", BlurMixtureConfig()),
    ):
        cards[stage] = train_and_save_classifier(
            ClassifierConfig(),
            classifier_schedule,
            train,
            test,
            os.path.join(work_dir, stage),
            models_dir,
            stage_logdir(stage),
            show_progress,
            augmentation=augmentation,
            runtime=runtime,
        )
    validation_examples = 5000
    cards["blur_estimator"] = train_and_save_blur_estimator(
        BlurEstimatorConfig(),
        DEFAULT_BLUR_ESTIMATOR_TRAINING,
        blur,
        train,
        test,
        os.path.join(work_dir, "blur_estimator"),
        models_dir,
        stage_logdir("blur_estimator"),
        validation_examples,
        show_progress,
        runtime=runtime,
    )
    return cards
