"""Blur a batch by one setting with the implementation a `BlurKind` names,
then, when asked, pass it through the sensor model."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.config import IMAGE_SIZE
from egan_tf.grid_spec import TRAIL_DECAY, BlurKind, GridSpec
from egan_tf.kernel_blur import Boundary, apply_kernel_blur
from egan_tf.kernels import (
    add_sensor_noise,
    example_seeds,
    shake_kernels,
    trail_kernels,
)
from egan_tf.spatial_blur import spatial_motion_blur

# Offsets of the base seed: the shake trajectories and each setting's noise
# draw from different streams.
_SHAKE_STREAM = 0
_NOISE_STREAM = 1


@dataclasses.dataclass(frozen=True)
class BlurredBatch:
    """A batch after the blur (and the sensor).

    Attributes:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        kernels: float32 [batch, K, K], the point-spread functions applied,
            for the kernel families; None for the Fourier and spatial blurs,
            which are described by (l, θ) alone.
    """

    images: tf.Tensor
    kernels: tf.Tensor | None = None


def blur_images(
    images: tf.Tensor, length: float, angle: float, kind: BlurKind
) -> tf.Tensor:
    """Blurs every image of a batch by one (l, θ) with the Fourier model or
    the spatial line kernel.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        length: Applied l, a fraction of the image side; 0 returns `images`.
        angle: θ in degrees.
        kind: `BlurKind.FOURIER` or `BlurKind.SPATIAL`.

    Returns:
        float32 [batch, 28, 28, 1] in [0, 1].
    """
    if length == 0:
        return images
    if BlurKind(kind) == BlurKind.SPATIAL:
        return spatial_motion_blur(images, length, angle)
    return apply_motion_blur(images, length, angle)


def blur_setting(
    images: tf.Tensor,
    indices: tf.Tensor,
    length: float,
    angle: float,
    kind: BlurKind,
    noise: float = 0.0,
    seed: int = 0,
    setting: int = 0,
) -> BlurredBatch:
    """Blurs a batch by one setting of any kind, then adds sensor noise.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        indices: int [batch], each image's index in its data set: the shake
            trajectory and the noise of an image are drawn from it, so they do
            not depend on the batch.
        length: Applied l, a fraction of the image side (the trajectory's
            extent for shake); 0 leaves the images sharp.
        angle: θ in degrees (unused by shake).
        kind: The blur.
        noise: Read-noise standard deviation; 0 skips the sensor model.
        seed: Base seed of the trajectories and the noise.
        setting: The setting's number, so that each gets its own noise.
    """
    kind = BlurKind(kind)
    kernels = None
    count = tf.shape(images)[0]
    if length == 0 or kind in (BlurKind.FOURIER, BlurKind.SPATIAL):
        blurred = blur_images(images, length, angle, kind)
    else:
        pixels = tf.fill([count], float(length) * IMAGE_SIZE)
        if kind == BlurKind.TRAIL:
            kernels = trail_kernels(pixels, tf.fill([count], float(angle)), TRAIL_DECAY)
        else:
            kernels = shake_kernels(
                pixels, example_seeds(tf.constant([seed, _SHAKE_STREAM]), indices)
            )
        blurred = apply_kernel_blur(images, kernels, Boundary.ZERO, validate=False)
    if noise > 0:
        noise_seed = tf.constant([seed + _NOISE_STREAM, setting], tf.int64)
        blurred = add_sensor_noise(blurred, noise, example_seeds(noise_seed, indices))
    return BlurredBatch(blurred, kernels)


def blur_strongest(images: tf.Tensor, spec: GridSpec) -> BlurredBatch:
    """A batch blurred at `spec`'s strongest setting (`GridSpec.strongest`),
    the images numbered from 0, for timings and example figures.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
    """
    length, angle = spec.strongest
    count = int(images.shape[0])
    return blur_setting(
        images,
        tf.range(count, dtype=tf.int64),
        length,
        angle,
        spec.blur,
        spec.noise,
        spec.seed,
    )
