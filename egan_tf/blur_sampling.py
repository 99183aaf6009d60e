"""Random motion blur for training: per-example (l, θ) drawn from a config."""

from __future__ import annotations

import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.config import BlurMixtureConfig, BlurSamplingConfig
from egan_tf.kernel_blur import Boundary, apply_kernel_blur
from egan_tf.kernels import add_sensor_noise, shake_kernels


def sample_blur_parameters(
    batch_size: tf.Tensor | int, config: BlurSamplingConfig, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Draws one blur setting per example, reproducibly from `seed`.

    Args:
        batch_size: Number of settings to draw.
        config: The distribution.
        seed: int32 or int64 [2], a stateless random seed.

    Returns:
        length float32 [batch] in [0, max_length] (exactly 0 for about
        `clean_fraction` of them) and angle float32 [batch] in degrees.
    """
    length_seed, angle_seed, clean_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, num=3)
    )
    shape = tf.reshape(tf.cast(batch_size, tf.int32), [1])
    length = tf.random.stateless_uniform(
        shape, length_seed, maxval=config.max_length, dtype=tf.float32
    )
    keep_sharp = tf.random.stateless_uniform(shape, clean_seed) < config.clean_fraction
    length = tf.where(keep_sharp, tf.zeros_like(length), length)
    angle = tf.random.stateless_uniform(
        shape, angle_seed, maxval=config.max_angle, dtype=tf.float32
    )
    return length, angle


def blur_randomly(
    images: tf.Tensor, config: BlurSamplingConfig, seed: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Blurs each image by its own randomly drawn setting.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        config: The distribution of (l, θ).
        seed: int32 or int64 [2], a stateless random seed.

    Returns:
        blurred float32 [batch, 28, 28, 1] in [0, 1], and the length and
        angle float32 [batch] that made them.
    """
    length, angle = sample_blur_parameters(tf.shape(images)[0], config, seed)
    return apply_motion_blur(images, length, angle), length, angle


def blur_from_mixture(
    images: tf.Tensor, config: BlurMixtureConfig, seed: tf.Tensor
) -> tf.Tensor:
    """Blurs each image by the Fourier model or camera shake, then adds
    sensor noise, every choice drawn per example from `seed`.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        config: The mixture.
        seed: int32 or int64 [2], a stateless random seed.

    Returns:
        float32 [batch, 28, 28, 1] in [0, 1].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=6)
    batch_size = tf.shape(images)[0]
    shape = tf.reshape(batch_size, [1])
    length, angle = sample_blur_parameters(
        batch_size,
        BlurSamplingConfig(config.max_length, config.clean_fraction),
        seeds[0],
    )
    fourier = apply_motion_blur(images, length, angle)
    extent = 1.0 + (config.max_shake_extent - 1.0) * tf.random.stateless_uniform(
        shape, seeds[1]
    )
    example_seeds = tf.random.stateless_uniform(
        tf.stack([batch_size, 2]), seeds[2], minval=0, maxval=2**31 - 1, dtype=tf.int64
    )
    shaken = apply_kernel_blur(
        images, shake_kernels(extent, example_seeds), Boundary.ZERO, validate=False
    )
    use_shake = (
        tf.random.stateless_uniform(shape, seeds[3]) < config.shake_fraction
    ) & (length > 0)
    blurred = tf.where(
        use_shake[:, tf.newaxis, tf.newaxis, tf.newaxis], shaken, fourier
    )
    sigma = config.max_noise * tf.random.stateless_uniform(shape, seeds[4])
    noise_seeds = tf.random.stateless_uniform(
        tf.stack([batch_size, 2]), seeds[5], minval=0, maxval=2**31 - 1, dtype=tf.int64
    )
    return add_sensor_noise(blurred, sigma, noise_seeds)
