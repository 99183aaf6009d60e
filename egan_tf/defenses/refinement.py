"""Latent refinement: search z near a learnt start so that blur(G(z)) matches
the observed image (Defense-GAN's search, started from the encoder).

Two blur models: B's (l, θ) through the paper's formula, held fixed
(`refine_latent_path`), or a free K x K point-spread function started from
that formula's streak and refined with z (`refine_latent_and_kernel_path`),
blind deconvolution inside G's range, for blur that (l, θ) cannot describe.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.kernel_blur import Boundary, apply_kernel_blur
from egan_tf.kernels import fourier_kernels


@dataclasses.dataclass(frozen=True)
class AdamConstants:
    """Adam's decay rates and denominator guard (Kingma & Ba's defaults)."""

    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8


LATENT_ADAM = AdamConstants()

# Keeps log(kernel) finite where the starting streak is 0, so that weight can
# still move there.
KERNEL_FLOOR = 1e-3


@dataclasses.dataclass
class _AdamState:
    """Adam's moments for one tensor, updated in place by `step`."""

    first: tf.Tensor
    second: tf.Tensor

    @classmethod
    def like(cls, value: tf.Tensor) -> _AdamState:
        return cls(tf.zeros_like(value), tf.zeros_like(value))

    def step(
        self,
        value: tf.Tensor,
        gradient: tf.Tensor,
        step: int,
        learning_rate: float,
        adam: AdamConstants,
    ) -> tf.Tensor:
        """`value` after Adam step number `step` (from 1)."""
        self.first = adam.beta_1 * self.first + (1 - adam.beta_1) * gradient
        self.second = adam.beta_2 * self.second + (1 - adam.beta_2) * tf.square(
            gradient
        )
        corrected_first = self.first / (1 - adam.beta_1**step)
        corrected_second = self.second / (1 - adam.beta_2**step)
        return value - learning_rate * corrected_first / (
            tf.sqrt(corrected_second) + adam.epsilon
        )


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
    state = _AdamState.like(start)
    for step in range(1, steps + 1):
        with tf.GradientTape() as tape:
            tape.watch(latent)
            rendered = apply_motion_blur(
                generator(latent, training=False), length, angle
            )
            loss = tf.reduce_sum(tf.square(rendered - images))
        gradient = tape.gradient(loss, latent)
        latent = state.step(latent, gradient, step, learning_rate, adam)
        path.append(latent)
    return path


def _kernels_of(log_kernels: tf.Tensor) -> tf.Tensor:
    """Softmax over each K x K kernel: non-negative, summing to 1."""
    size = int(log_kernels.shape[-1])
    flat = tf.reshape(log_kernels, [-1, size * size])
    return tf.reshape(tf.nn.softmax(flat, axis=-1), [-1, size, size])


def refine_latent_and_kernel_path(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
    kernel_learning_rate: float,
    kernel_size: int,
    adam: AdamConstants = LATENT_ADAM,
) -> tuple[list[tf.Tensor], tf.Tensor]:
    """Refines each image's latent and its blur kernel together.

    Minimises ||k * G(z) - x||² per image by Adam on z and on log k, where k
    is a K x K point-spread function (a softmax, so it stays non-negative and
    sums to 1) started from the paper's formula at B's (l, θ) and convolved
    with zero boundaries (`apply_kernel_blur`). With `kernel_learning_rate`
    0 the kernel stays that streak.

    Args:
        generator: G, frozen.
        start: float32 [batch, latent_dim], e.g. E_blur(x).
        images: float32 [batch, 28, 28, 1], the observed (blurred) images.
        length, angle: float32 [batch], B's estimate, where the kernel starts.
        steps: Adam steps.
        learning_rate: Adam step size on z.
        kernel_learning_rate: Adam step size on log k.
        kernel_size: K, odd.
        adam: Adam's constants.

    Returns:
        (`steps + 1` latents float32 [batch, latent_dim], element 0 `start`,
        as in `refine_latent_path`; the final kernels float32 [batch, K, K]).
    """
    log_kernels = tf.math.log(
        fourier_kernels(length, angle, kernel_size) + KERNEL_FLOOR
    )
    path = [start]
    latent = start
    latent_state = _AdamState.like(start)
    kernel_state = _AdamState.like(log_kernels)
    for step in range(1, steps + 1):
        with tf.GradientTape() as tape:
            tape.watch([latent, log_kernels])
            rendered = apply_kernel_blur(
                generator(latent, training=False),
                _kernels_of(log_kernels),
                Boundary.ZERO,
                validate=False,
            )
            loss = tf.reduce_sum(tf.square(rendered - images))
        latent_gradient, kernel_gradient = tape.gradient(loss, [latent, log_kernels])
        latent = latent_state.step(latent, latent_gradient, step, learning_rate, adam)
        log_kernels = kernel_state.step(
            log_kernels, kernel_gradient, step, kernel_learning_rate, adam
        )
        path.append(latent)
    return path, _kernels_of(log_kernels)


def refine_latent(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
    kernel_learning_rate: float = 0.0,
    kernel_size: int = 0,
) -> tf.Tensor:
    """The refined latent, float32 [batch, latent_dim]: the last of
    `refine_latent_path` when `kernel_size` is 0 (the formula's blur), else
    of `refine_latent_and_kernel_path`."""
    if kernel_size == 0:
        return refine_latent_path(
            generator, start, images, length, angle, steps, learning_rate
        )[-1]
    path, _ = refine_latent_and_kernel_path(
        generator, start, images, length, angle, steps, learning_rate,
        kernel_learning_rate, kernel_size,
    )  # fmt: skip
    return path[-1]
