"""The last two stages of `reproduce`: the settings chosen on held-out
training images with the trained networks, never on the test set.

`defense` trains the three selection stand-ins, runs every candidate over
the held-out fold once (kept in the work folder, reused while the networks,
the candidates and the images are unchanged) and writes `defense.json`;
`bf16_margin` writes `bf16_margin.json`.
"""

from __future__ import annotations

import os

from egan_tf.atomic_files import write_json_atomically
from egan_tf.data import ImageArrays, dataset_of
from egan_tf.datasets import dataset_spec
from egan_tf.defenses import DEFENSE_CONFIG_FILE, load_defense_models
from egan_tf.model_files import (
    AUGMENTED_CLASSIFIER_FILE,
    BFLOAT16_MARGIN_FILE,
    CLASSIFIER_FILE,
    MIXTURE_CLASSIFIER_FILE,
)
from egan_tf.model_io import load_model
from egan_tf.selection.bf16_margin import choose_bfloat16_margin
from egan_tf.selection.choice import choose_defense
from egan_tf.selection.config import (
    Bfloat16MarginConfig,
    DefenseSearchConfig,
    HeldOutConfig,
    StandIn,
)
from egan_tf.selection.held_out import (
    answers_fingerprint,
    collect_answers,
    held_out_settings,
    load_answers,
    save_answers,
)
from egan_tf.training.runtime import Runtime
from egan_tf.training.stand_ins import held_out_split, train_stand_in

ANSWERS_FILE = "held_out.npz"
STAND_INS_FOLDER = "stand_ins"


def choose_and_write_defense(
    models_dir: str,
    train_arrays: ImageArrays,
    work_dir: str,
    rescaled_length_scale: float,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
    held_out_config: HeldOutConfig | None = None,
    search: DefenseSearchConfig | None = None,
) -> dict:
    """Chooses the defence's settings and writes `models_dir/defense.json`.

    Args:
        models_dir: Every shipped network and its card.
        train_arrays: The training split they learnt.
        work_dir: The stand-ins' checkpoints and files, and the answers.
        rescaled_length_scale: The data set's rescaled grid scale.
        logdir: TensorBoard folder of the stand-ins' training, or None.
        held_out_config, search: The candidates (the defaults if None).

    Returns:
        The record written (`egan_tf.selection.choice.choose_defense`); an
        empty dict on a worker other than the chief.
    """
    runtime = runtime or Runtime.create()
    held_out_config = held_out_config or HeldOutConfig()
    stand_in_dir = os.path.join(work_dir, STAND_INS_FOLDER)
    split = held_out_split(models_dir, train_arrays)
    stand_ins, cards = {}, {}
    for stand_in in StandIn:
        stand_ins[stand_in], cards[stand_in.value] = train_stand_in(
            stand_in,
            models_dir,
            split,
            os.path.join(work_dir, f"{stand_in.value}_checkpoints"),
            stand_in_dir,
            os.path.join(logdir, stand_in.value) if logdir else None,
            show_progress,
            runtime,
        )
    if not runtime.is_chief:
        return {}
    images = split.held_out.images[: held_out_config.examples]
    labels = split.held_out.labels[: held_out_config.examples]
    models = load_defense_models(models_dir)
    answering = {
        "classifier": models.classifier,
        "generator": models.generator,
        "encoder_blur": models.encoder_blur,
        "blur_estimator": models.blur_estimator,
        "classifier_augment": models.classifier_augment,
        "classifier_mixture": models.classifier_mixture,
        **{f"stand_in_{name.value}": model for name, model in stand_ins.items()},
    }
    fingerprint = answers_fingerprint(answering, held_out_config, images)
    answers_path = os.path.join(work_dir, ANSWERS_FILE)
    answers = load_answers(answers_path, fingerprint)
    if answers is None:
        answers = collect_answers(
            models,
            stand_ins,
            images,
            labels,
            held_out_settings(held_out_config, rescaled_length_scale),
            held_out_config,
            show_progress,
        )
        save_answers(answers_path, answers, fingerprint)
    record = choose_defense(answers, cards, search)
    write_json_atomically(os.path.join(models_dir, DEFENSE_CONFIG_FILE), record)
    return record


def choose_and_write_bfloat16_margin(
    models_dir: str,
    train_arrays: ImageArrays,
    runtime: Runtime | None = None,
    config: Bfloat16MarginConfig | None = None,
) -> dict:
    """Chooses bfloat16's close-call margin for the classifiers in
    `models_dir` on the last training images and writes
    `models_dir/bf16_margin.json`.

    Returns:
        The record written (`choose_bfloat16_margin`); an empty dict on a
        worker other than the chief.
    """
    if runtime is not None and not runtime.is_chief:
        return {}
    config = config or Bfloat16MarginConfig()
    classifiers = {
        file_name[: -len(".keras")]: load_model(os.path.join(models_dir, file_name))
        for file_name in (
            CLASSIFIER_FILE,
            AUGMENTED_CLASSIFIER_FILE,
            MIXTURE_CLASSIFIER_FILE,
        )
        if os.path.isfile(os.path.join(models_dir, file_name))
    }
    spec = dataset_spec(dataset_of(train_arrays))
    examples = min(config.examples, len(train_arrays))
    record = choose_bfloat16_margin(
        classifiers,
        train_arrays.images,
        spec.length_scale,
        f"the last {examples} {spec.title} training images",
        config,
    )
    write_json_atomically(os.path.join(models_dir, BFLOAT16_MARGIN_FILE), record)
    return record
