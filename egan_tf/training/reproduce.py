"""Rebuilds every shipped model from scratch, in order, and the settings
chosen on held-out training images with them, resuming what was cut."""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Sequence

from egan_tf.config import (
    BlurEstimatorConfig,
    BlurMixtureConfig,
    BlurSamplingConfig,
    ClassifierConfig,
    EganConfig,
    EncoderLossConfig,
    TrainingConfig,
)
from egan_tf.data import ImageArrays, dataset_of
from egan_tf.data_paths import DataSource
from egan_tf.datasets import dataset_spec
from egan_tf.defaults import (
    DEFAULT_BLUR_ESTIMATOR_TRAINING,
    PAPER_GAN_TRAINING,
    classifier_training,
    encoder_loss,
    encoder_schedule,
    encoder_settling,
)
from egan_tf.training import settings_stages
from egan_tf.training.blur_estimator import train_and_save_blur_estimator
from egan_tf.training.classifier import train_and_save_classifier
from egan_tf.training.encoder_stage import (
    EncoderStageRequest,
    help_train_encoder,
    train_and_save_encoder,
)
from egan_tf.training.gan import train_and_save_gan
from egan_tf.training.runtime import Runtime
from egan_tf.training.stages import (
    FOLD_STAGES,
    ReproduceStage,
    check_max_epochs,
    check_stage_inputs,
)

# Held out of B's training images to measure it after each epoch.
BLUR_ESTIMATOR_VALIDATION_EXAMPLES = 5000


def reproduce_all(
    models_dir: str,
    work_dir: str,
    data: DataSource | None = None,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
    stages: Sequence[ReproduceStage] = tuple(ReproduceStage),
    max_epochs: int | None = None,
) -> dict[str, dict]:
    """Trains C, then the GAN, then E with the default (paper) schedules, then
    the beyond-the-paper networks: E_blur, C_aug, C_mix and the blur
    estimator B; then chooses the defence's settings and bfloat16's margin
    on held-out training images (or only `stages` of them, in that order).

    Each stage checkpoints under `work_dir/<stage>`, so rerunning after an
    interruption resumes the stage that was cut and skips finished ones
    (a finished stage resumes at its last epoch and only re-saves its model).
    Stages that need no other (`STAGE_INPUTS`) may run in another process at
    the same time, with the same folders, as long as no two processes run
    one stage.

    Every stage trains on `data`'s training split (MNIST through TFDS if
    None) and is measured on its whole test split, under `runtime` (one
    device in float32 if None). `max_epochs`, when given, caps every
    schedule's epochs (settling's too): a quick run of the whole pipeline,
    whose cards record the schedule that ran.

    Returns:
        The model card of each stage run (the record written, for the
        settings), keyed by stage name.

    Raises:
        ValueError: Before any training, when a stage's inputs are missing
            (`check_stage_inputs`).
    """
    check_stage_inputs(models_dir, stages)
    plan = _make_plan(
        models_dir, work_dir, data, logdir, show_progress, runtime, max_epochs
    )
    return {stage.value: plan.train(stage) for stage in stages}


def help_reproduce(
    stage: ReproduceStage,
    models_dir: str,
    work_dir: str,
    data: DataSource | None = None,
    logdir: str | None = None,
    runtime: Runtime | None = None,
    max_epochs: int | None = None,
) -> list[int]:
    """Trains, beside a process running `reproduce_all` on `stage` with the
    same folders (and the same `max_epochs`), the folds of `stage` that no
    process trains yet; writes no model and no card (see
    `help_train_encoder`).

    Returns:
        The folds this process finished.

    Raises:
        ValueError: If `stage` has no folds to share (`FOLD_STAGES`), or its
            inputs are missing.
    """
    if stage not in FOLD_STAGES:
        raise ValueError(
            "Only a stage of cross-validation folds can be trained by two "
            f"processes. Received: stage={stage.value}"
        )
    check_stage_inputs(models_dir, (stage,))
    plan = _make_plan(models_dir, work_dir, data, logdir, False, runtime, max_epochs)
    return plan.help_train(stage)


def _make_plan(
    models_dir: str,
    work_dir: str,
    data: DataSource | None,
    logdir: str | None,
    show_progress: bool,
    runtime: Runtime | None,
    max_epochs: int | None = None,
) -> _StagePlan:
    data = data or DataSource()
    return _StagePlan(
        models_dir,
        work_dir,
        data.load("train"),
        data.load("test"),
        classifier_training(data.dataset),
        encoder_loss(data.dataset),
        logdir,
        show_progress,
        runtime or Runtime.create(),
        max_epochs,
    )


@dataclasses.dataclass(frozen=True)
class _StagePlan:
    """What every stage is trained with; `train` runs one stage."""

    models_dir: str
    work_dir: str
    train_arrays: ImageArrays
    test_arrays: ImageArrays
    classifier_schedule: TrainingConfig
    encoder_loss: EncoderLossConfig
    logdir: str | None
    show_progress: bool
    runtime: Runtime
    max_epochs: int | None = None

    def __post_init__(self):
        check_max_epochs(self.max_epochs)

    def _capped(self, schedule):
        """`schedule` (a TrainingConfig or SettlingConfig, or None) with its
        epochs capped at `max_epochs`."""
        if schedule is None or self.max_epochs is None:
            return schedule
        return dataclasses.replace(
            schedule, epochs=min(schedule.epochs, self.max_epochs)
        )

    def _folders(self, stage: ReproduceStage) -> tuple[str, str | None]:
        logdir = os.path.join(self.logdir, stage.value) if self.logdir else None
        return os.path.join(self.work_dir, stage.value), logdir

    def train(self, stage: ReproduceStage) -> dict:
        """Trains and saves `stage`; returns its model card."""
        trainers: dict[ReproduceStage, Callable[[str, str | None], dict]] = {
            ReproduceStage.CLASSIFIER: functools.partial(self._classifier, None),
            ReproduceStage.GAN: self._gan,
            ReproduceStage.ENCODER: functools.partial(
                self._encoder, ReproduceStage.ENCODER
            ),
            # Beyond the paper: the blur-aware encoder, the augmented
            # classifiers and the blur estimator. E_blur, C_aug and B train on
            # the same random blur distribution; C_mix on issue 12's
            # camera-blur mixture.
            ReproduceStage.ENCODER_BLUR: functools.partial(
                self._encoder, ReproduceStage.ENCODER_BLUR
            ),
            ReproduceStage.CLASSIFIER_AUGMENT: functools.partial(
                self._classifier, BlurSamplingConfig()
            ),
            ReproduceStage.CLASSIFIER_MIXTURE: functools.partial(
                self._classifier, BlurMixtureConfig()
            ),
            ReproduceStage.BLUR_ESTIMATOR: self._blur_estimator,
            ReproduceStage.DEFENSE: self._defense,
            ReproduceStage.BF16_MARGIN: self._bf16_margin,
        }
        return trainers[stage](*self._folders(stage))

    def _classifier(self, augmentation, checkpoint_dir: str, logdir: str | None):
        return train_and_save_classifier(
            ClassifierConfig(),
            self._capped(self.classifier_schedule),
            self.train_arrays,
            self.test_arrays,
            checkpoint_dir,
            self.models_dir,
            logdir,
            self.show_progress,
            augmentation=augmentation,
            runtime=self.runtime,
        )

    def _gan(self, checkpoint_dir: str, logdir: str | None) -> dict:
        return train_and_save_gan(
            EganConfig(),
            self._capped(PAPER_GAN_TRAINING),
            self.train_arrays,
            checkpoint_dir,
            self.models_dir,
            logdir,
            self.show_progress,
            runtime=self.runtime,
        )

    def _encoder_request(self, stage: ReproduceStage) -> EncoderStageRequest:
        """How an encoder stage trains: the paper's E on sharp inputs (then
        settled, where its data set settles), or E_blur on blurred ones."""
        fine_tune = stage == ReproduceStage.ENCODER_BLUR
        schedule = encoder_schedule(self.dataset, fine_tune)
        return EncoderStageRequest(
            self.models_dir,
            self._capped(schedule.training),
            self.encoder_loss,
            schedule.cross_validation,
            input_blur=BlurSamplingConfig() if fine_tune else None,
            settling=None
            if fine_tune
            else self._capped(encoder_settling(self.dataset)),
            note=schedule.note,
        )

    def _encoder(self, stage: ReproduceStage, checkpoint_dir: str, logdir: str | None):
        return train_and_save_encoder(
            self._encoder_request(stage),
            self.train_arrays,
            self.test_arrays,
            checkpoint_dir,
            self.models_dir,
            logdir,
            self.show_progress,
            runtime=self.runtime,
        )

    def help_train(self, stage: ReproduceStage) -> list[int]:
        """Trains the folds of `stage` no other process trains; see
        `help_reproduce`."""
        return help_train_encoder(
            self._encoder_request(stage),
            self.train_arrays,
            *self._folders(stage),
            runtime=self.runtime,
        )

    @property
    def dataset(self) -> str:
        """The data set every stage trains on."""
        return dataset_of(self.train_arrays)

    def _blur_estimator(self, checkpoint_dir: str, logdir: str | None) -> dict:
        return train_and_save_blur_estimator(
            BlurEstimatorConfig(),
            self._capped(DEFAULT_BLUR_ESTIMATOR_TRAINING),
            BlurSamplingConfig(),
            self.train_arrays,
            self.test_arrays,
            checkpoint_dir,
            self.models_dir,
            logdir,
            BLUR_ESTIMATOR_VALIDATION_EXAMPLES,
            self.show_progress,
            runtime=self.runtime,
        )

    def _defense(self, work_dir: str, logdir: str | None) -> dict:
        return settings_stages.choose_and_write_defense(
            self.models_dir,
            self.train_arrays,
            work_dir,
            dataset_spec(self.dataset).length_scale,
            logdir,
            self.show_progress,
            self.runtime,
        )

    def _bf16_margin(self, work_dir: str, logdir: str | None) -> dict:
        del work_dir, logdir  # Nothing trains; the margin is chosen in minutes.
        return settings_stages.choose_and_write_bfloat16_margin(
            self.models_dir, self.train_arrays, self.runtime
        )
