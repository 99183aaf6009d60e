"""Evaluation: batched graph computation that returns records, never text.

Formatting lives in `egan_tf.reporting` and plotting in `egan_tf.plotting`. The
paper's blur grid lives in `egan_tf.grid` and is re-exported here.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from egan_tf.config import IMAGE_SHAPE
from egan_tf.data import MnistArrays, to_unit_interval
from egan_tf.losses import reconstruction_loss
from egan_tf.model_io import ShippedModels

DEFAULT_EVALUATION_BATCH_SIZE = 1000


def predict_labels(
    model: keras.Model,
    arrays: MnistArrays,
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> np.ndarray:
    """Predicted classes of a classifier on every example.

    Args:
        model: Maps float32 [batch, 28, 28, 1] in [0, 1] to logits [batch, 10].
        arrays: Examples to classify.
        batch_size: Examples per graph call.

    Returns:
        int64 array [N] of predicted digits.
    """

    @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8)])
    def predict(images):
        return tf.argmax(model(to_unit_interval(images), training=False), axis=-1)

    predictions = [
        predict(arrays.images[start : start + batch_size]).numpy()
        for start in range(0, len(arrays), batch_size)
    ]
    return np.concatenate(predictions) if predictions else np.zeros([0], np.int64)


def accuracy_of(
    model: keras.Model,
    arrays: MnistArrays,
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
    """

    examples: int
    clean_accuracy: float
    egan_accuracy: float | None = None
    reconstruction_mse: float | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def make_defended_forward(models: ShippedModels):
    """Returns a compiled function of uint8 images [batch, 28, 28, 1] giving
    (C(x) labels int64 [batch], C(G(E(x))) labels int64 [batch],
    per-image reconstruction MSE float32 [batch])."""

    @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8)])
    def forward(images):
        images = to_unit_interval(images)
        plain = tf.argmax(models.classifier(images, training=False), axis=-1)
        reconstructions = models.generator(
            models.encoder(images, training=False), training=False
        )
        defended = tf.argmax(
            models.classifier(reconstructions, training=False), axis=-1
        )
        return plain, defended, reconstruction_loss(images, reconstructions)

    return forward


def evaluate_clean(
    models: ShippedModels,
    arrays: MnistArrays,
    batch_size: int = DEFAULT_EVALUATION_BATCH_SIZE,
) -> CleanRecord:
    """Measures C, and C(G(E(.))) when the models include an EGAN, on `arrays`."""
    if not models.has_egan:
        return CleanRecord(
            len(arrays), accuracy_of(models.classifier, arrays, batch_size)
        )
    forward = make_defended_forward(models)
    plain, defended, errors = [], [], []
    for start in range(0, len(arrays), batch_size):
        batch_plain, batch_defended, batch_errors = forward(
            arrays.images[start : start + batch_size]
        )
        plain.append(batch_plain.numpy())
        defended.append(batch_defended.numpy())
        errors.append(batch_errors.numpy())
    labels = arrays.labels
    return CleanRecord(
        examples=len(arrays),
        clean_accuracy=float(np.mean(np.concatenate(plain) == labels)),
        egan_accuracy=float(np.mean(np.concatenate(defended) == labels)),
        reconstruction_mse=float(np.mean(np.concatenate(errors))),
    )


# The grid evaluator, importable from here as well (it lives in grid.py because
# it is the larger half of evaluation).
from egan_tf.grid import GridPoint, GridResult, evaluate_grid  # noqa: E402

__all__ = [
    "CleanRecord",
    "GridPoint",
    "GridResult",
    "accuracy_of",
    "evaluate_clean",
    "evaluate_grid",
    "make_defended_forward",
    "predict_labels",
]
