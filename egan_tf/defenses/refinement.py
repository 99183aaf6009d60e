"""Latent refinement: search z near a learnt start so that blur(G(z)) matches
the observed image (Defense-GAN's search, started from the encoder).

Two blur models: B's (l, θ) through the paper's formula, held fixed
(`refine_latent_path`), or a free K x K point-spread function started from
that formula's streak and refined with z (`refine_latent_and_kernel_path`),
blind deconvolution inside G's range, for blur that (l, θ) cannot describe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

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

# A refinement's objective: the tensors it descends on -> a scalar loss.
LossOf = Callable[[list[tf.Tensor]], tf.Tensor]


def _bias_correction(beta: float, step: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """1 - beta^step for Adam's step number `step` (from 1), computed in
    float64 and rounded once to `dtype`, as a Python constant would be."""
    power = tf.pow(tf.constant(beta, tf.float64), tf.cast(step, tf.float64))
    return tf.cast(1.0 - power, dtype)


def _adam_update(
    value: tf.Tensor,
    gradient: tf.Tensor,
    moments: tuple[tf.Tensor, tf.Tensor],
    step: tf.Tensor,
    learning_rate: float,
    adam: AdamConstants,
) -> tuple[tf.Tensor, tuple[tf.Tensor, tf.Tensor]]:
    """`value` and its (first, second) moments after Adam step `step`."""
    first, second = moments
    first = adam.beta_1 * first + (1 - adam.beta_1) * gradient
    second = adam.beta_2 * second + (1 - adam.beta_2) * tf.square(gradient)
    corrected_first = first / _bias_correction(adam.beta_1, step, value.dtype)
    corrected_second = second / _bias_correction(adam.beta_2, step, value.dtype)
    updated = value - learning_rate * corrected_first / (
        tf.sqrt(corrected_second) + adam.epsilon
    )
    return updated, (first, second)


def _adam_descent(
    loss_of: LossOf,
    starts: list[tf.Tensor],
    learning_rates: list[float],
    steps: int,
    adam: AdamConstants,
    keep_path: bool,
) -> tuple[list[tf.Tensor], tf.Tensor | None]:
    """Adam on the tensors `starts` against `loss_of`, as a `tf.while_loop`.

    One loop, not `steps` copies of the step: a traced or exported function
    holds the step once, whatever `steps` is (the unrolled loop made the
    SavedModel's defences slow to trace, export and load).

    Returns:
        (the final tensors; with `keep_path`, the first tensor after every
        step, stacked: [steps + 1, ...] with element 0 its start, else None).
    """
    moments = [(tf.zeros_like(start), tf.zeros_like(start)) for start in starts]
    path = tf.TensorArray(
        starts[0].dtype, size=steps + 1, element_shape=starts[0].shape
    )
    path = path.write(0, starts[0]) if keep_path else path

    def one_step(step, values, moments, path):
        with tf.GradientTape() as tape:
            tape.watch(values)
            loss = loss_of(values)
        gradients = tape.gradient(loss, values)
        updates = [
            _adam_update(value, gradient, moment, step, learning_rate, adam)
            for value, gradient, moment, learning_rate in zip(
                values, gradients, moments, learning_rates, strict=True
            )
        ]
        values = [value for value, _ in updates]
        moments = [moment for _, moment in updates]
        path = path.write(step, values[0]) if keep_path else path
        return step + 1, values, moments, path

    _, values, _, path = tf.while_loop(
        lambda step, *_: step <= steps,
        one_step,
        (tf.constant(1), list(starts), moments, path),
        maximum_iterations=steps,
    )
    return values, (path.stack() if keep_path else None)


def refine_latent_path(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
    adam: AdamConstants = LATENT_ADAM,
) -> tf.Tensor:
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
        float32 [steps + 1, batch, latent_dim].
    """
    _, path = _refine(
        generator, start, images, length, angle, steps, learning_rate,
        0.0, 0, adam, keep_path=True,
    )  # fmt: skip
    return path


def _formula_loss(
    generator: keras.Model, images: tf.Tensor, length: tf.Tensor, angle: tf.Tensor
) -> LossOf:
    """||blur_{l,θ}(G(z)) - x||² summed over the batch, as a function of [z].

    `images` float32 [batch, 28, 28, 1]; `length`, `angle` float32 [batch].
    """

    def loss_of(values):
        rendered = apply_motion_blur(
            generator(values[0], training=False), length, angle
        )
        return tf.reduce_sum(tf.square(rendered - images))

    return loss_of


def _kernel_loss(generator: keras.Model, images: tf.Tensor) -> LossOf:
    """||k * G(z) - x||² summed over the batch, as a function of [z, log k]
    (log k float32 [batch, K, K]); `images` float32 [batch, 28, 28, 1]."""

    def loss_of(values):
        latent, log_kernels = values
        rendered = apply_kernel_blur(
            generator(latent, training=False),
            _kernels_of(log_kernels),
            Boundary.ZERO,
            validate=False,
        )
        return tf.reduce_sum(tf.square(rendered - images))

    return loss_of


def _start_log_kernels(
    length: tf.Tensor, angle: tf.Tensor, kernel_size: int
) -> tf.Tensor:
    """log of the formula's K x K streak at (l, θ), floored: float32
    [batch, K, K] from `length`, `angle` float32 [batch]."""
    return tf.math.log(fourier_kernels(length, angle, kernel_size) + KERNEL_FLOOR)


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
) -> tuple[tf.Tensor, tf.Tensor]:
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
        (the latents float32 [steps + 1, batch, latent_dim], element 0
        `start`, as in `refine_latent_path`; the final kernels float32
        [batch, K, K]).
    """
    (_, log_kernels), path = _refine(
        generator, start, images, length, angle, steps, learning_rate,
        kernel_learning_rate, kernel_size, adam, keep_path=True,
    )  # fmt: skip
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
    of `refine_latent_and_kernel_path`, without keeping the path."""
    values, _ = _refine(
        generator, start, images, length, angle, steps, learning_rate,
        kernel_learning_rate, kernel_size, LATENT_ADAM, keep_path=False,
    )  # fmt: skip
    return values[0]


def _refine(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
    kernel_learning_rate: float,
    kernel_size: int,
    adam: AdamConstants,
    keep_path: bool,
) -> tuple[list[tf.Tensor], tf.Tensor | None]:
    """`_adam_descent` on the formula's problem or on the free kernel's.

    Args:
        generator: G, frozen.
        start: float32 [batch, latent_dim], where z starts.
        images: float32 [batch, 28, 28, 1], the observed (blurred) images.
        length, angle: float32 [batch], the blur to model or to start from.
        steps: Adam steps.
        learning_rate: Adam step size on z.
        kernel_learning_rate: Adam step size on log k (unused with
            `kernel_size` 0).
        kernel_size: K, odd, for a free K x K kernel; 0 for the formula's
            blur at (l, θ), held fixed.
        adam: Adam's constants.
        keep_path: whether to keep z after every step.

    Returns:
        (the final values: [z float32 [batch, latent_dim]] with `kernel_size`
        0, else [z, log k float32 [batch, K, K]]; z's path float32
        [steps + 1, batch, latent_dim] with `keep_path`, else None).
    """
    if kernel_size == 0:
        return _adam_descent(
            _formula_loss(generator, images, length, angle),
            [start],
            [learning_rate],
            steps,
            adam,
            keep_path,
        )
    return _adam_descent(
        _kernel_loss(generator, images),
        [start, _start_log_kernels(length, angle, kernel_size)],
        [learning_rate, kernel_learning_rate],
        steps,
        adam,
        keep_path,
    )
