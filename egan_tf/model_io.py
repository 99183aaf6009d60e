"""Saving and loading the shipped Keras models, atomically and with checks."""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Any

import keras

from egan_tf.atomic_files import atomic_path, write_json_atomically
from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES
from egan_tf.errors import ModelFileError

# The file names are re-exported: callers that load or save a network find
# them beside the loader.
from egan_tf.model_files import (  # noqa: F401
    AUGMENTED_CLASSIFIER_FILE,
    BLUR_ESTIMATOR_FILE,
    CLASSIFIER_FILE,
    DISCRIMINATOR_FILE,
    EGAN_FILES,
    ENCODER_BLUR_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    MIXTURE_CLASSIFIER_FILE,
    missing_files,
    missing_models_message,
    read_model_card,
)

# Registers the layers of egan_tf's own that saved networks hold, so that any
# process loading them through this module can deserialise them.
from egan_tf.networks.replica_dropout import ReplicaDropout  # noqa: F401


def save_model_atomically(model: keras.Model, path: str) -> None:
    """Saves `model` in the `.keras` format under a temporary name, then renames.

    An interrupted save never leaves a half-written model under `path`. A
    network trained in bfloat16 is saved with the float32 policy (its
    variables are float32 already), so that every shipped file computes in
    float32 wherever it is loaded; evaluation chooses the precision.
    """
    from egan_tf.precision import Precision, with_precision

    model = with_precision(model, Precision.FLOAT32)
    # Keras picks the format by the ending, so the temporary name keeps it.
    with atomic_path(path, suffix=".tmp.keras") as temporary:
        model.save(temporary)


def load_model(
    path: str,
    expected_input_shape: tuple[int | None, ...] | None = None,
    expected_output_shape: tuple[int | None, ...] | None = None,
) -> keras.Model:
    """Loads a `.keras` model with `safe_mode=True` and checks its shapes.

    Args:
        path: The `.keras` file.
        expected_input_shape: Required input shape without the batch axis.
        expected_output_shape: Required output shape without the batch axis.

    Raises:
        ModelFileError: One line naming the file and what is wrong with it.
    """
    if not os.path.isfile(path):
        raise ModelFileError(f"Model file not found: {path}")
    # Keras reports a truncated or foreign file as "File not found"; a
    # `.keras` archive is a zip file with the model's config inside.
    if not _is_keras_archive(path):
        raise ModelFileError(
            f"Cannot load {path}: the file is corrupt or not a Keras archive (a "
            ".keras file is a zip holding config.json and the weights)."
        )
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except (ValueError, OSError, KeyError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ModelFileError(f"Cannot load {path}: {first_line}") from error
    _check_shape(path, "input", model.input_shape, expected_input_shape)
    _check_shape(path, "output", model.output_shape, expected_output_shape)
    return model


def load_folder_model(
    models_dir: str,
    file_name: str,
    expected_input_shape: tuple[int, ...] | None = None,
    expected_output_shape: tuple[int, ...] | None = None,
) -> keras.Model:
    """Loads the network `file_name` of a models folder (`load_model`).

    Raises:
        ModelFileError: As `load_model`; for a missing file, the line also
            names the `reproduce` stage that trains it.
    """
    if not os.path.isfile(os.path.join(models_dir, file_name)):
        raise ModelFileError(missing_models_message(models_dir, [file_name]))
    return load_model(
        os.path.join(models_dir, file_name),
        expected_input_shape,
        expected_output_shape,
    )


def _is_keras_archive(path: str) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist() and archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def _check_shape(path, kind, actual, expected) -> None:
    if expected is None:
        return
    actual_without_batch = tuple(actual[1:])
    if actual_without_batch != tuple(expected):
        raise ModelFileError(
            f"{path} has {kind} shape {actual_without_batch}, expected "
            f"{tuple(expected)}."
        )


def write_model_card(path: str, card: dict[str, Any]) -> None:
    """Writes the JSON that records how a model was trained and what it measures.

    The card gets this machine's fp32 matmul rate beside its wall times
    (`machine_fp32_matmul_gflops`): machines of one kind differ by 2x, so a
    training time means little without it. The rate is this process's, so
    the card also says on how many threads and at what load it was measured
    (`egan_tf.machine.machine_record`).
    """
    from egan_tf.machine import machine_record

    write_json_atomically(path, {**card, **machine_record()})


@dataclasses.dataclass(frozen=True)
class ShippedModels:
    """The networks of the defence, as loaded from a models folder.

    Attributes:
        classifier: C, images [batch, 28, 28, 1] in [0, 1] -> logits [batch, 10].
        generator: G, latent [batch, latent_dim] -> images in [0, 1], or None.
        encoder: E, images -> latent [batch, latent_dim], or None.
    """

    classifier: keras.Model
    generator: keras.Model | None = None
    encoder: keras.Model | None = None

    @property
    def has_egan(self) -> bool:
        return self.generator is not None and self.encoder is not None


def load_shipped_models(models_dir: str, require_egan: bool = False) -> ShippedModels:
    """Loads C, and G and E when present, checking that they fit together.

    Raises:
        ModelFileError: A needed file is missing or a shape does not fit, with
            the file and the mismatch named on one line.
    """
    if not os.path.isdir(models_dir):
        raise ModelFileError(f"Models folder not found: {models_dir}")
    # A folder's networks are checked here, not in `load_model`, so that the
    # error can name the stages that train them (a user's own file has none).
    missing = missing_files(
        models_dir, [CLASSIFIER_FILE, *(EGAN_FILES if require_egan else [])]
    )
    if missing:
        raise ModelFileError(missing_models_message(models_dir, missing))
    classifier = load_model(
        os.path.join(models_dir, CLASSIFIER_FILE), IMAGE_SHAPE, (NUM_CLASSES,)
    )
    if missing_files(models_dir, EGAN_FILES):
        return ShippedModels(classifier)
    generator_path = os.path.join(models_dir, GENERATOR_FILE)
    encoder_path = os.path.join(models_dir, ENCODER_FILE)
    generator = load_model(generator_path, expected_output_shape=IMAGE_SHAPE)
    encoder = load_model(encoder_path, expected_input_shape=IMAGE_SHAPE)
    latent_dim = generator.input_shape[-1]
    if encoder.output_shape[-1] != latent_dim:
        raise ModelFileError(
            f"{encoder_path} outputs latent size {encoder.output_shape[-1]} but "
            f"{generator_path} takes latent size {latent_dim}."
        )
    return ShippedModels(classifier, generator, encoder)
