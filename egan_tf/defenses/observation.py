"""What every method receives: the batch, and the pieces several methods share.

The runner (`registry.run_methods`) computes C(x) and B's estimate once per
batch, only when a requested method reads them, and hands them to each method
in an `Observation`; nothing is cached behind a method's back.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from egan_tf.defenses.models import DefenseModels


@dataclasses.dataclass(frozen=True)
class MethodOutput:
    """What a method gives for a batch.

    Attributes:
        logits: float32 [batch, 10], the classifier's logits.
        classified: float32 [batch, 28, 28, 1] in [0, 1], the image the
            classifier saw: the input itself, or its restoration.
    """

    logits: tf.Tensor
    classified: tf.Tensor


@dataclasses.dataclass(frozen=True)
class BlurEstimate:
    """B's reading of each image's blur.

    Attributes:
        length: float32 [batch], l ≥ 0 as a fraction of the image side.
        angle: float32 [batch], θ in degrees, in (-180, 180].
    """

    length: tf.Tensor
    angle: tf.Tensor

    def gather(self, indices: tf.Tensor) -> BlurEstimate:
        """The estimates of the rows `indices` (int64 [k])."""
        return BlurEstimate(
            tf.gather(self.length, indices), tf.gather(self.angle, indices)
        )


@dataclasses.dataclass(frozen=True)
class Observation:
    """One batch of possibly blurred images as the methods see it.

    Attributes:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        true_length, true_angle: float32 [batch], the blur actually applied;
            read only by `wiener-oracle`, an upper bound.
        plain: C on `images`, or None when no requested method reads it.
        estimate: B's estimate for `images`, or None when no requested method
            reads it.
        true_kernels: float32 [batch, K, K], the point-spread functions
            applied when the blur was a kernel family (read only by
            `wiener-oracle`), or None when (l, θ) describe it.
    """

    images: tf.Tensor
    true_length: tf.Tensor
    true_angle: tf.Tensor
    plain: MethodOutput | None = None
    estimate: BlurEstimate | None = None
    true_kernels: tf.Tensor | None = None


def classify(models: DefenseModels, images: tf.Tensor) -> MethodOutput:
    """C on `images` (float32 [batch, 28, 28, 1] in [0, 1])."""
    return MethodOutput(models.classifier(images, training=False), images)


def estimate_blur(models: DefenseModels, images: tf.Tensor) -> BlurEstimate:
    """B's estimate of each image's blur.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
    """
    predicted = models.blur_estimator(images, training=False)
    length = tf.maximum(predicted[:, 0], 0.0)
    angle = tf.math.atan2(predicted[:, 2], predicted[:, 1]) * (180.0 / math.pi)
    return BlurEstimate(length, angle)
