"""Evaluation on clean images: batched graph computation returning records.

Formatting lives in `egan_tf.reporting` and plotting in `egan_tf.plotting`;
the blur grids live in `egan_tf.grid` and `egan_tf.methods_grid`. Nothing
here imports training code; the encoder's training measures its folds with
`measure_egan` from here.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from egan_tf.batching import run_batched
from egan_tf.blur_sampling import blur_randomly
from egan_tf.config import BlurSamplingConfig
from egan_tf.data import ImageArrays, provenance_of, to_unit_interval
from egan_tf.losses import reconstruction_loss
from egan_tf.model_io import ShippedModels

DEFAULT_EVALUATION_BATCH_SIZE = 1000
# The stateless seed of the blur that validation applies with `input_blur`,
# so that every validation of a run sees the same blurred images.
VALIDATION_BLUR_SEED = (2024, 11)


# One compiled function for every call: Keras models and the blur config are
# part of its trace key, so measuring the same networks again does not retrace.
@tf.function(reduce_retracing=True, autograph=False)
def _egan_batch(classifier, generator, encoder, images, input_blur):
    sharp = to_unit_interval(images)
    inputs = sharp
    if input_blur is not None:
        inputs, _, _ = blur_randomly(
            sharp, input_blur, tf.constant(VALIDATION_BLUR_SEED, tf.int64)
        )
    reconstructions = generator(encoder(inputs, training=False), training=False)
    outputs = {"reconstruction_mse": reconstruction_loss(sharp, reconstructions)}
    if classifier is not None:
        outputs["plain"] = tf.argmax(classifier(inputs, training=False), axis=-1)
        outputs["defended"] = tf.argmax(
            classifier(reconstructions, training=False), axis=-1
        )
    return outputs


@dataclasses.dataclass(frozen=True)
class ClassMeasurement:
    """The EGAN on the images of one class: how well G covers that class.

    Attributes:
        label: The class, 0..9.
        examples: How many images of it were measured.
        reconstruction_mse: As `EganMeasurement.reconstruction_mse`, over
            this class's images.
        plain_accuracy: Accuracy of C(x') on them, or None without C.
        defended_accuracy: Accuracy of C(G(E(x'))) on them, or None without C.
    """

    label: int
    examples: int
    reconstruction_mse: float
    plain_accuracy: float | None
    defended_accuracy: float | None


@dataclasses.dataclass(frozen=True)
class EganMeasurement:
    """The EGAN on a set of images.

    Attributes:
        reconstruction_mse: Mean over images of the per-pixel squared error
            between the sharp x and G(E(x')) (pixels in [0, 1]), where x' is
            x, or x blurred with `input_blur`.
        plain_accuracy: Accuracy of C(x'), or None without C.
        defended_accuracy: Accuracy of C(G(E(x'))), or None without C.
        per_class: The same, class by class (classes with images only).
    """

    reconstruction_mse: float
    plain_accuracy: float | None
    defended_accuracy: float | None
    per_class: tuple[ClassMeasurement, ...] = ()


def measure_egan(
    generator: keras.Model,
    encoder: keras.Model,
    arrays: ImageArrays,
    classifier: keras.Model | None = None,
    input_blur: BlurSamplingConfig | None = None,
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> EganMeasurement:
    """Reconstruction error and accuracies of the EGAN on `arrays`.

    Args:
        input_blur: Blur E's inputs by this random distribution (a fixed
            seed, `VALIDATION_BLUR_SEED`) and compare with the sharp images;
            None measures on sharp inputs.
    """
    outputs = run_batched(
        lambda images: _egan_batch(classifier, generator, encoder, images, input_blur),
        arrays.images,
        batch_size,
    )

    def accuracy(name, where):
        if name not in outputs:
            return None
        return float(np.mean(outputs[name][where] == arrays.labels[where]))

    def measured(where):
        return {
            "examples": int(np.sum(where)),
            "reconstruction_mse": float(np.mean(outputs["reconstruction_mse"][where])),
            "plain_accuracy": accuracy("plain", where),
            "defended_accuracy": accuracy("defended", where),
        }

    overall = measured(np.ones(len(arrays), bool))
    per_class = tuple(
        ClassMeasurement(label=int(label), **measured(arrays.labels == label))
        for label in np.unique(arrays.labels)
    )
    return EganMeasurement(
        reconstruction_mse=overall["reconstruction_mse"],
        plain_accuracy=overall["plain_accuracy"],
        defended_accuracy=overall["defended_accuracy"],
        per_class=per_class,
    )


def predict_labels(
    model: keras.Model,
    arrays: ImageArrays,
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> np.ndarray:
    """Predicted classes of a classifier on every example.

    Args:
        model: Maps float32 [batch, 28, 28, 1] in [0, 1] to logits [batch, 10].
        arrays: Examples to classify.
        batch_size: Examples per graph call.

    Returns:
        int64 array [N] of predicted classes 0..9.
    """
    labels = run_batched(
        lambda images: _classifier_labels(model, images), arrays.images, batch_size
    )
    return np.zeros([0], np.int64) if labels is None else labels


@tf.function(reduce_retracing=True, autograph=False)
def _classifier_labels(model, images):
    return tf.argmax(model(to_unit_interval(images), training=False), axis=-1)


def accuracy_of(
    model: keras.Model,
    arrays: ImageArrays,
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> float:
    """Fraction of examples a classifier gets right, in [0, 1]."""
    return float(np.mean(predict_labels(model, arrays, batch_size) == arrays.labels))


@dataclasses.dataclass(frozen=True)
class CleanRecord:
    """Accuracy of the shipped models on clean test images.

    Attributes:
        examples: Number of test images.
        clean_accuracy: Accuracy of C(x), a fraction in [0, 1].
        egan_accuracy: Accuracy of C(G(E(x))), or None without an EGAN.
        reconstruction_mse: Mean over images of the per-pixel squared error
            between x and G(E(x)) (pixels in [0, 1]), or None without an EGAN.
        data: Where the images came from (`DataProvenance` as a dict), or None.
        per_class: The EGAN class by class (`ClassMeasurement`s as dicts):
            where G covers the data set well and where not. Empty without
            an EGAN.
    """

    examples: int
    clean_accuracy: float
    egan_accuracy: float | None = None
    reconstruction_mse: float | None = None
    data: dict | None = None
    per_class: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def evaluate_clean(
    models: ShippedModels,
    arrays: ImageArrays,
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> CleanRecord:
    """Measures C, and C(G(E(.))) when the models include an EGAN, on `arrays`."""
    if not models.has_egan:
        return CleanRecord(
            len(arrays),
            accuracy_of(models.classifier, arrays, batch_size),
            data=provenance_of(arrays),
        )
    measured = measure_egan(
        models.generator,
        models.encoder,
        arrays,
        models.classifier,
        batch_size=batch_size,
    )
    return CleanRecord(
        examples=len(arrays),
        clean_accuracy=measured.plain_accuracy,
        egan_accuracy=measured.defended_accuracy,
        reconstruction_mse=measured.reconstruction_mse,
        data=provenance_of(arrays),
        per_class=tuple(dataclasses.asdict(item) for item in measured.per_class),
    )
