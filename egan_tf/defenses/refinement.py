"""Latent refinement: search z near a learnt start so that blur(G(z)) matches
the observed image (Defense-GAN's search, started from the encoder)."""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from egan_tf.blur import apply_motion_blur


@dataclasses.dataclass(frozen=True)
class AdamConstants:
    """Adam's decay rates and denominator guard (Kingma & Ba's defaults)."""

    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8


LATENT_ADAM = AdamConstants()


def refine_latent_path(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
    adam: AdamConstants = LATENT_ADAM,
) -> list[tf.Tensor]:
    """Every latent the refinement passes through: `steps + 1` of them.

    Minimises ||blur_{l,θ}(G(z)) - x||² per image by Adam on z, from a learnt
    start rather than from random restarts. Each image's loss depends only on
    its own latent, so one batched gradient refines them all.

    Element k is the latent after k Adam steps (element 0 is `start`), so one
    run of n steps also gives the result of every shorter run with the same
    step size: Adam's state after k steps does not depend on what follows.

    Args:
        generator: G, frozen.
        start: float32 [batch, latent_dim], e.g. E_blur(x).
        images: float32 [batch, 28, 28, 1], the observed (blurred) images.
        length, angle: float32 [batch], the blur to model (l = 0: none).
        steps: Adam steps.
        learning_rate: Adam step size.
        adam: Adam's constants.

    Returns:
        `steps + 1` tensors float32 [batch, latent_dim].
    """
    path = [start]
    latent = start
    first = tf.zeros_like(start)
    second = tf.zeros_like(start)
    for step in range(1, steps + 1):
        with tf.GradientTape() as tape:
            tape.watch(latent)
            rendered = apply_motion_blur(
                generator(latent, training=False), length, angle
            )
            loss = tf.reduce_sum(tf.square(rendered - images))
        gradient = tape.gradient(loss, latent)
        first = adam.beta_1 * first + (1 - adam.beta_1) * gradient
        second = adam.beta_2 * second + (1 - adam.beta_2) * tf.square(gradient)
        corrected_first = first / (1 - adam.beta_1**step)
        corrected_second = second / (1 - adam.beta_2**step)
        latent = latent - learning_rate * corrected_first / (
            tf.sqrt(corrected_second) + adam.epsilon
        )
        path.append(latent)
    return path


def refine_latent(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
) -> tf.Tensor:
    """The last latent of `refine_latent_path`: float32 [batch, latent_dim]."""
    return refine_latent_path(
        generator, start, images, length, angle, steps, learning_rate
    )[-1]
