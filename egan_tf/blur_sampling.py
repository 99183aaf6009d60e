"""Random motion blur for training: per-example (l, θ) drawn from a config."""

from __future__ import annotations

import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.config import BlurSamplingConfig


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
