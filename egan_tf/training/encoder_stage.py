"""The encoder stage: E trained against the G and C of a models folder,
measured on the test set and written with its model card.

`reproduce` and `train-encoder` run it; the training itself is
`egan_tf.training.encoder`.
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras

from egan_tf.config import (
    IMAGE_SHAPE,
    BlurSamplingConfig,
    CrossValidationConfig,
    EganConfig,
    EncoderLossConfig,
    SettlingConfig,
    TrainingConfig,
    config_from_dict,
    config_to_dict,
)
from egan_tf.data import ImageArrays, dataset_of
from egan_tf.evaluation import evaluate_clean
from egan_tf.model_files import check_trained_on
from egan_tf.model_io import (
    CLASSIFIER_FILE,
    ENCODER_BLUR_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    ShippedModels,
    load_folder_model,
    read_model_card,
    save_model_atomically,
    write_model_card,
)
from egan_tf.training.encoder import (
    EncoderResult,
    settle_encoder,
    train_encoder,
    train_encoder_folds,
)
from egan_tf.training.encoder_fold import EncoderRun
from egan_tf.training.loop import record_run_configs
from egan_tf.training.runtime import Runtime

# The paper encoder's model card in a models folder.
ENCODER_CARD_FILE = "encoder.json"


def encoder_card(
    result: EncoderResult,
    configs: dict,
    test_metrics: dict[str, float],
    dataset: str,
) -> dict:
    """The JSON record of how E was trained on `dataset` and what the EGAN
    measures."""
    card = {
        "stage": "encoder",
        "dataset": dataset,
        **{name: config_to_dict(config) for name, config in configs.items()},
        "best_fold": result.best_fold,
        "best_means": "lowest final-epoch validation MSE between x and G(E(x))",
        "folds": result.folds,
    }
    if result.settling is not None:
        card["settled"] = result.settling
    card["wall_seconds"] = round(result.wall_seconds, 1)
    card["test"] = test_metrics
    return card


@dataclasses.dataclass(frozen=True)
class EncoderStageRequest:
    """One encoder stage: what E trains against, and how.

    Attributes:
        models_dir: Folder holding the trained `generator.keras` and
            `classifier.keras` (and `encoder.keras`, for `input_blur`).
        training: Each fold's schedule.
        loss: E's loss weights.
        cross_validation: The folds, and how many of them train.
        input_blur: None for the paper's encoder E; else E_blur: the encoder
            of `models_dir` fine-tuned on inputs blurred at random by this.
        settling: Settle the kept fold's encoder (beyond the paper), or None.
        note: The card's "note": why the schedule is not the default one.
    """

    models_dir: str
    training: TrainingConfig
    loss: EncoderLossConfig
    cross_validation: CrossValidationConfig
    input_blur: BlurSamplingConfig | None = None
    settling: SettlingConfig | None = None
    note: str | None = None

    @property
    def output_file(self) -> str:
        """The encoder's file name in a models folder."""
        return ENCODER_FILE if self.input_blur is None else ENCODER_BLUR_FILE


def train_and_save_encoder(
    request: EncoderStageRequest,
    train_arrays: ImageArrays,
    test_arrays: ImageArrays,
    checkpoint_dir: str,
    output_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> dict:
    """Trains E against the G and C of `request.models_dir`, measures the
    EGAN on the test set and writes the encoder and its model card into
    `output_dir`; resumable from `checkpoint_dir`.

    Without `request.input_blur` this is the paper's encoder, written as
    `encoder.keras` and `encoder.json`; with it, E_blur, written as
    `encoder_blur.keras` and `encoder_blur.json`.

    Under a multi-worker strategy only the chief writes them.

    Returns:
        The model card.
    """
    runtime = runtime or Runtime.create()
    run, (generator, classifier, initial_encoder) = _encoder_run(request, train_arrays)
    result = train_encoder(
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        initial_encoder=initial_encoder,
        runtime=runtime,
    )
    record = evaluate_clean(
        ShippedModels(classifier, generator, result.encoder), test_arrays
    )
    card = encoder_card(
        result,
        {**run.configs, "execution": runtime.config},
        record.to_dict(),
        dataset_of(train_arrays),
    )
    if request.input_blur is not None:
        card["stage"] = "encoder_blur"
        card["initialised_from"] = ENCODER_FILE
    if request.note is not None:
        card["note"] = request.note
    _write_encoder(runtime, result.encoder, card, output_dir, request.output_file)
    return card


def settle_and_save_encoder(
    settling: SettlingConfig,
    models_dir: str,
    train_arrays: ImageArrays,
    test_arrays: ImageArrays,
    checkpoint_dir: str,
    output_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> dict:
    """Settles the encoder of `models_dir`, which `train_and_save_encoder`
    trained without settling, measures the EGAN on the test set, and writes
    the settled encoder and its card into `output_dir`; resumable.

    Its card gives the run (the fold split's seed, the batch size, the loss)
    and the kept fold, so the settled encoder is the one the same run with
    `settling` would have made, without training its folds again.

    Returns:
        The model card: the encoder's card with the settling's config and
        record added, its wall time included, and the test measured again
        (the settled encoder's; the card's before as `test_before_settling`).

    Raises:
        ValueError: If the encoder was settled already, or its card is not a
            paper encoder's (E_blur settles nothing).
    """
    runtime = runtime or Runtime.create()
    card = read_model_card(os.path.join(models_dir, ENCODER_CARD_FILE))
    if card.get("stage") != "encoder" or "settled" in card:
        raise ValueError(
            "Only an encoder trained without settling can be settled. Received: "
            f"stage={card.get('stage')!r}, settled={'settled' in card}"
        )
    request = EncoderStageRequest(
        models_dir,
        config_from_dict(TrainingConfig, card["training"]),
        config_from_dict(EncoderLossConfig, card["loss"]),
        config_from_dict(CrossValidationConfig, card["cross_validation"]),
        settling=settling,
    )
    run, (generator, classifier, _) = _encoder_run(request, train_arrays)
    encoder = load_folder_model(
        models_dir, ENCODER_FILE, expected_input_shape=IMAGE_SHAPE
    )
    record_run_configs(checkpoint_dir, logdir, run.configs, runtime, train_arrays)
    settled, record = settle_encoder(
        encoder,
        card["best_fold"],
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        runtime,
    )
    result = EncoderResult(
        encoder=settled,
        best_fold=card["best_fold"],
        folds=card["folds"],
        wall_seconds=card["wall_seconds"] + record["wall_seconds"],
        settling=record,
    )
    tested = evaluate_clean(ShippedModels(classifier, generator, settled), test_arrays)
    settled_card = encoder_card(
        result,
        {**run.configs, "execution": runtime.config},
        tested.to_dict(),
        dataset_of(train_arrays),
    )
    settled_card["test_before_settling"] = card["test"]
    _write_encoder(runtime, settled, settled_card, output_dir, ENCODER_FILE)
    return settled_card


def _write_encoder(
    runtime: Runtime,
    encoder: keras.Model,
    card: dict,
    output_dir: str,
    file_name: str,
) -> None:
    """Writes `encoder` as `file_name` and its card beside it (the same stem,
    `.json`); only the chief writes."""
    if not runtime.is_chief:
        return
    stem = file_name[: -len(".keras")]
    save_model_atomically(encoder, os.path.join(output_dir, file_name))
    write_model_card(os.path.join(output_dir, f"{stem}.json"), card)


def help_train_encoder(
    request: EncoderStageRequest,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    runtime: Runtime | None = None,
) -> list[int]:
    """Trains folds of the run `train_and_save_encoder` runs with the same
    request in another process, beside it: those no process trains yet,
    until none is left. Writes no model and no card; that process does,
    once every fold is finished.

    Returns:
        The folds this process finished.
    """
    runtime = runtime or Runtime.create()
    run, (generator, classifier, initial_encoder) = _encoder_run(request, train_arrays)
    _, written = train_encoder_folds(
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress=False,
        initial_encoder=initial_encoder,
        runtime=runtime,
        wait_for_others=False,
    )
    return sorted(written)


def _encoder_run(
    request: EncoderStageRequest, train_arrays: ImageArrays
) -> tuple[EncoderRun, tuple[keras.Model, keras.Model, keras.Model | None]]:
    """The run's configs, and G, C and the encoder every fold starts from
    (E of `models_dir` when fine-tuning on blurred inputs, else None)."""
    models_dir = request.models_dir
    # A G and C of another data set would train an E that inverts nothing.
    check_trained_on(models_dir, dataset_of(train_arrays))
    generator = load_folder_model(
        models_dir, GENERATOR_FILE, expected_output_shape=IMAGE_SHAPE
    )
    classifier = load_folder_model(
        models_dir, CLASSIFIER_FILE, expected_input_shape=IMAGE_SHAPE
    )
    gan_config_path = os.path.join(models_dir, "gan.json")
    model_config = EganConfig(latent_dim=generator.input_shape[-1])
    if os.path.isfile(gan_config_path):
        with open(gan_config_path, encoding="utf-8") as handle:
            model_config = config_from_dict(EganConfig, json.load(handle)["model"])
    initial_encoder = None
    if request.input_blur is not None:
        initial_encoder = load_folder_model(
            models_dir, ENCODER_FILE, expected_input_shape=IMAGE_SHAPE
        )
    run = EncoderRun(
        model_config,
        request.training,
        request.loss,
        request.cross_validation,
        request.input_blur,
        request.settling,
    )
    return run, (generator, classifier, initial_encoder)
