"""The stages of `reproduce`, what each needs, and how a user names them.

Nothing here imports TensorFlow, so that the command line checks `--stages`
before it loads anything.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Sequence

from egan_tf.config import CrossValidationConfig
from egan_tf.defaults import encoder_schedule
from egan_tf.model_files import (
    AUGMENTED_CLASSIFIER_FILE,
    BLUR_ESTIMATOR_FILE,
    CLASSIFIER_FILE,
    DISCRIMINATOR_FILE,
    ENCODER_BLUR_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    MIXTURE_CLASSIFIER_FILE,
    TRAINING_STAGE_OF_FILE,
)


class ReproduceStage(enum.StrEnum):
    """The shipped networks, in the order `reproduce_all` trains them, then
    the settings chosen on held-out training images with them: the defence's
    (`defense.json`) and bfloat16's close-call margin (`bf16_margin.json`).
    Each stage works in `work_dir/<value>`."""

    CLASSIFIER = "classifier"
    GAN = "gan"
    ENCODER = "encoder"
    ENCODER_BLUR = "encoder_blur"
    CLASSIFIER_AUGMENT = "classifier_augment"
    CLASSIFIER_MIXTURE = "classifier_mixture"
    BLUR_ESTIMATOR = "blur_estimator"
    DEFENSE = "defense"
    BF16_MARGIN = "bf16_margin"


# The files of `models_dir` a stage starts from: E trains against G and C;
# E_blur starts from E; the defence's settings are chosen with every network
# and bfloat16's margin with the classifiers. The other stages need nothing,
# so they may run in a process of their own beside the rest.
STAGE_INPUTS = {
    ReproduceStage.ENCODER: (CLASSIFIER_FILE, GENERATOR_FILE),
    ReproduceStage.ENCODER_BLUR: (CLASSIFIER_FILE, GENERATOR_FILE, ENCODER_FILE),
    ReproduceStage.DEFENSE: (
        CLASSIFIER_FILE,
        GENERATOR_FILE,
        ENCODER_FILE,
        ENCODER_BLUR_FILE,
        AUGMENTED_CLASSIFIER_FILE,
        MIXTURE_CLASSIFIER_FILE,
        BLUR_ESTIMATOR_FILE,
    ),
    ReproduceStage.BF16_MARGIN: (CLASSIFIER_FILE,),
}

# The stages trained by cross-validation, whose folds a second process may
# train beside the first (`reproduce.help_reproduce`).
FOLD_STAGES = (ReproduceStage.ENCODER, ReproduceStage.ENCODER_BLUR)

# A fold stage's records of its finished folds, in its checkpoint folder.
FOLD_METRICS_FILE = "fold_metrics.json"


def read_fold_records(checkpoint_dir: str) -> dict[str, dict]:
    """The records of a fold stage's finished folds, by fold number as a
    string; empty before the first fold finishes."""
    path = os.path.join(checkpoint_dir, FOLD_METRICS_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def fold_encoder_path(checkpoint_dir: str, fold: int) -> str:
    """Where a finished fold's encoder is written."""
    return os.path.join(checkpoint_dir, f"fold_{fold}.keras")


def stage_cross_validation(
    stage: ReproduceStage, dataset: str
) -> CrossValidationConfig | None:
    """The folds a stage trains on `dataset`: the paper's five for E, E_blur's
    per data set (`defaults.BLUR_ENCODER_MAX_FOLDS`); None for a stage of no
    folds."""
    if stage not in (ReproduceStage.ENCODER, ReproduceStage.ENCODER_BLUR):
        return None
    fine_tune = stage == ReproduceStage.ENCODER_BLUR
    return encoder_schedule(dataset, fine_tune).cross_validation


def folds_left(stage: ReproduceStage, dataset: str, stage_dir: str) -> int:
    """How many of a fold stage's folds are not finished yet: trained folds
    have a record in `stage_dir/fold_metrics.json` and their encoder beside
    it. 0 for a stage of no folds."""
    cross_validation = stage_cross_validation(stage, dataset)
    if cross_validation is None:
        return 0
    count = cross_validation.trained_folds
    records = read_fold_records(stage_dir)
    finished = [
        fold
        for fold in range(count)
        if str(fold) in records and os.path.isfile(fold_encoder_path(stage_dir, fold))
    ]
    return count - len(finished)


# The networks a stage makes in `models_dir` (the discriminator too, for the
# GAN, but nothing starts from it).
STAGE_OUTPUTS = {
    ReproduceStage(stage): (file_name,)
    for file_name, stage in TRAINING_STAGE_OF_FILE.items()
    if file_name != DISCRIMINATOR_FILE
}


def check_max_epochs(max_epochs: int | None) -> None:
    """Raises ValueError unless `max_epochs` (a cap on every stage's epochs)
    is None or at least 1."""
    if max_epochs is not None and max_epochs < 1:
        raise ValueError(
            f"max_epochs must be at least 1. Received: max_epochs={max_epochs}"
        )


def parse_stages(text: str) -> tuple[ReproduceStage, ...]:
    """Stages from a comma-separated list of their names, in training order.

    Raises:
        ValueError: One line naming an unknown stage and the known ones.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = [stage.value for stage in ReproduceStage]
    for name in names:
        if name not in known:
            raise ValueError(
                f"Unknown stage. Received: stage={name!r}; the stages are "
                f"{', '.join(known)}"
            )
    if not names:
        raise ValueError(f"No stage given. Received: stages={text!r}")
    return tuple(stage for stage in ReproduceStage if stage.value in names)


def check_stage_inputs(models_dir: str, stages: Sequence[ReproduceStage]) -> None:
    """Refuses, before any training, a stage whose inputs neither are in
    `models_dir` nor come from an earlier stage of `stages`.

    Raises:
        ValueError: One line naming the stage and the missing file.
    """
    made = set()
    for stage in stages:
        for name in STAGE_INPUTS.get(stage, ()):
            if name not in made and not os.path.isfile(os.path.join(models_dir, name)):
                raise ValueError(
                    f"Stage {stage.value} trains from {name}, which is not in "
                    f"{models_dir} and no earlier stage given makes. Received: "
                    f"stages={','.join(stage.value for stage in stages)}"
                )
        made |= set(STAGE_OUTPUTS.get(stage, ()))
