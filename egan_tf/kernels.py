"""Motion-blur kernels as cameras make them, drawn per example in TensorFlow.

Each family is a function of its parameters (and, for camera shake, a
stateless seed) returning point-spread functions float32 [batch, K, K]:
non-negative, each summing to 1, centred at K // 2, for
`egan_tf.kernel_blur.apply_kernel_blur`. Being TF ops, they are drawn on the
fly inside a training step or a `tf.data` pipeline.

Conventions follow `egan_tf.blur`: lengths and extents in pixels, θ = 0 is
motion along the rows (axis 0), θ = 90° along the columns; a streak starts at
the centre and runs towards +θ.

* `linear_kernels`: a uniform straight streak, antialiased (the image-domain
  version of the paper's motion).
* `trail_kernels`: a one-sided streak whose weight decays along the path (an
  object that decelerates, a shutter that closes slowly).
* `shake_kernels`: random camera-shake trajectories after Boracchi and Foi
  (2012), the model DeblurGAN synthesises blur with: a particle whose
  velocity gets Gaussian kicks, an inertial pull back towards where it was,
  and rare impulsive reversals; splatted sub-pixel into the kernel. Its
  strength is the trajectory's extent in pixels.
* `add_sensor_noise`: Gaussian read noise, then 8-bit quantisation.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from egan_tf.config import IMAGE_SIZE, KERNEL_SIZE

DEFAULT_KERNEL_SIZE = KERNEL_SIZE
# Points splatted per pixel of path, enough for a smooth antialiased kernel.
SAMPLES_PER_PIXEL = 8
# Grey levels of the 8-bit sensor model.
SENSOR_LEVELS = 255


def _splat(points: tf.Tensor, weights: tf.Tensor, size: int) -> tf.Tensor:
    """Bilinear splatting of weighted points into kernels.

    Args:
        points: float32 [batch, samples, 2], (row, column) in kernel pixels.
        weights: float32 [batch, samples], ≥ 0.
        size: K.

    Returns:
        float32 [batch, K, K], each summing to 1 (points outside are dropped
        before normalising; a kernel with no weight inside is a delta).
    """
    batch = tf.shape(points)[0]
    top_left = tf.floor(points)
    fraction = points - top_left
    top_left = tf.cast(top_left, tf.int32)
    kernels = tf.zeros([batch * size * size])
    batch_offset = tf.range(batch)[:, tf.newaxis] * size * size
    for d_row in (0, 1):
        for d_col in (0, 1):
            row = top_left[..., 0] + d_row
            col = top_left[..., 1] + d_col
            share = (fraction[..., 0] if d_row else 1 - fraction[..., 0]) * (
                fraction[..., 1] if d_col else 1 - fraction[..., 1]
            )
            inside = (row >= 0) & (row < size) & (col >= 0) & (col < size)
            index = batch_offset + tf.clip_by_value(row, 0, size - 1) * size
            index += tf.clip_by_value(col, 0, size - 1)
            value = tf.where(inside, share * weights, 0.0)
            kernels += tf.math.unsorted_segment_sum(
                tf.reshape(value, [-1]), tf.reshape(index, [-1]), batch * size * size
            )
    kernels = tf.reshape(kernels, [batch, size, size])
    total = tf.reduce_sum(kernels, axis=[1, 2], keepdims=True)
    return tf.where(
        total > 0, kernels / tf.maximum(total, 1e-12), delta_kernels(batch, size)
    )


def fourier_kernels(length, angle, size: int) -> tf.Tensor:
    """The paper's Fourier motion blur as point-spread functions, cropped to
    K x K around the centre, clipped at 0 and normalised.

    The formula's kernel rings slightly below zero (a sinc's side lobes) and
    spans the whole image circularly; what is kept is the streak itself,
    which is what a refinement starting from B's (l, θ) needs.

    Args:
        length: float32 [batch], l as a fraction of the image side.
        angle: float32 [batch], θ in degrees.
        size: K, odd, at most the image side 28.

    Returns:
        float32 [batch, K, K], non-negative, each summing to 1.
    """
    # Imported here: egan_tf.blur imports Keras, which the kernel families do not need.
    from egan_tf.blur import motion_blur_transfer_function

    side = IMAGE_SIZE
    transfer = motion_blur_transfer_function(side, side, length, angle)
    kernels = tf.math.real(
        tf.signal.ifft2d(tf.signal.ifftshift(transfer, axes=[-2, -1]))
    )
    # The formula's origin is at (0, 0); move it to the centre, then crop.
    kernels = tf.roll(kernels, shift=[side // 2, side // 2], axis=[1, 2])
    low = side // 2 - size // 2
    kernels = tf.maximum(kernels[:, low : low + size, low : low + size], 0.0)
    total = tf.reduce_sum(kernels, axis=[1, 2], keepdims=True)
    batch = tf.shape(kernels)[0]
    return tf.where(
        total > 0, kernels / tf.maximum(total, 1e-12), delta_kernels(batch, size)
    )


def delta_kernels(batch_size, size: int = DEFAULT_KERNEL_SIZE) -> tf.Tensor:
    """The identity blur: float32 [batch, K, K], 1 at the centre K // 2."""
    delta = tf.one_hot(size // 2 * size + size // 2, size * size)
    return tf.tile(tf.reshape(delta, [1, size, size]), tf.stack([batch_size, 1, 1]))


def _streak_points(length, angle, size: int) -> tuple[tf.Tensor, tf.Tensor]:
    """Evenly spaced points from the centre over `length` pixels towards θ,
    and their position t in [0, 1] along the streak."""
    length = tf.reshape(tf.cast(length, tf.float32), [-1])
    angle = tf.reshape(tf.cast(angle, tf.float32), [-1])
    samples = SAMPLES_PER_PIXEL * size + 1
    t = tf.linspace(0.0, 1.0, samples)[tf.newaxis, :]
    radians = angle * (math.pi / 180.0)
    direction = tf.stack([tf.cos(radians), tf.sin(radians)], axis=-1)
    offsets = (length[:, tf.newaxis] * t)[..., tf.newaxis] * direction[:, tf.newaxis]
    points = float(size // 2) + offsets
    return points, tf.broadcast_to(t, tf.shape(points)[:2])


def linear_kernels(length, angle, size: int = DEFAULT_KERNEL_SIZE) -> tf.Tensor:
    """Uniform straight streaks.

    Args:
        length: float32 [batch], path length in pixels, 0 ≤ length ≤ size // 2.
        angle: float32 [batch], θ in degrees.
        size: K, odd.

    Returns:
        float32 [batch, K, K].
    """
    points, t = _streak_points(length, angle, size)
    return _splat(points, tf.ones_like(t), size)


def trail_kernels(length, angle, decay, size: int = DEFAULT_KERNEL_SIZE) -> tf.Tensor:
    """One-sided streaks whose weight falls as exp(-decay · t) along the path.

    Args:
        length: float32 [batch], path length in pixels.
        angle: float32 [batch], θ in degrees.
        decay: float32 [batch] (or scalar), ≥ 0; 0 is `linear_kernels`, 3 puts
            5 % of the start's weight at the far end.
        size: K, odd.

    Returns:
        float32 [batch, K, K].
    """
    points, t = _streak_points(length, angle, size)
    decay = tf.reshape(tf.cast(decay, tf.float32), [-1, 1])
    return _splat(points, tf.exp(-decay * t), size)


@dataclasses.dataclass(frozen=True)
class ShakeModel:
    """The random-walk parameters of `shake_kernels` (Boracchi and Foi, 2012).

    Each trajectory draws its own centripetal pull, Gaussian kick and chance
    of an impulsive reversal uniformly up to these maxima, as DeblurGAN does.

    Attributes:
        steps: Positions along the exposure.
        max_centripetal: Inertial pull back towards the current position.
        max_gaussian: Scale of the random kick each step.
        max_big_shake: Chance per step of an abrupt reversal (times `anxiety`).
        anxiety: Overall size of the perturbations.
    """

    steps: int = 64
    max_centripetal: float = 0.7
    max_gaussian: float = 10.0
    max_big_shake: float = 0.2
    anxiety: float = 0.1


DEFAULT_SHAKE = ShakeModel()


def example_seeds(seed: tf.Tensor, indices: tf.Tensor) -> tf.Tensor:
    """One stateless seed per example, from a base seed and the examples'
    indices, so that an example's draw does not depend on its batch.

    Args:
        seed: int [2], the base seed.
        indices: int [batch], e.g. each image's index in the data set.

    Returns:
        int64 [batch, 2].
    """
    seed = tf.cast(seed, tf.int64)
    return tf.map_fn(
        lambda index: tf.random.experimental.stateless_fold_in(seed, index),
        tf.cast(indices, tf.int64),
        fn_output_signature=tf.TensorSpec([2], tf.int64),
    )


def _per_example(draw, seeds: tf.Tensor, shape, dtype=tf.float32) -> tf.Tensor:
    """`draw(shape, seed)` for each example's seed: float32 [batch, *shape]."""
    return tf.map_fn(
        lambda seed: draw(shape, seed),
        seeds,
        fn_output_signature=tf.TensorSpec(shape, dtype),
    )


def _walk_step(
    model: ShakeModel,
    velocity: tf.Tensor,
    position: tf.Tensor,
    coin: tf.Tensor,
    kick: tf.Tensor,
    draws: tuple[tf.Tensor, tf.Tensor, tf.Tensor],
) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of the shake walk: (velocity, position), each float32
    [batch, 2], after it. `coin` float32 [batch, 2] in [0, 1) and `kick`
    float32 [batch, 2] are this step's draws; `draws` the path's
    (centripetal, gaussian, big_shake) strengths, float32 [batch] each."""
    centripetal, gaussian, big_shake = draws
    step_length = 1.0 / (model.steps - 1)
    reverse = coin[:, 0] < big_shake * model.anxiety
    # An impulsive reversal: the velocity turned by about 180° and doubled.
    turn = math.pi + (coin[:, 1] - 0.5)
    turned = 2 * tf.stack(
        [
            velocity[:, 0] * tf.cos(turn) - velocity[:, 1] * tf.sin(turn),
            velocity[:, 0] * tf.sin(turn) + velocity[:, 1] * tf.cos(turn),
        ],
        -1,
    )
    impulse = tf.where(reverse[:, tf.newaxis], turned, 0.0)
    change = impulse + model.anxiety * step_length * (
        gaussian[:, tf.newaxis] * kick - centripetal[:, tf.newaxis] * position
    )
    velocity = velocity + change
    velocity = velocity / tf.maximum(tf.norm(velocity, axis=-1, keepdims=True), 1e-12)
    velocity *= step_length
    return velocity, position + velocity


# A graph function: run eagerly, the walk's 63 steps of small ops cost about
# 90 times what one traced loop does (bench/shake_kernels.py). Traced per
# model once for the first batch shape and once for every other.
@tf.function(reduce_retracing=True, autograph=False)
def shake_trajectories(
    seeds: tf.Tensor, model: ShakeModel = DEFAULT_SHAKE
) -> tf.Tensor:
    """Random camera-shake paths, one per example, of unit step length.

    Args:
        seeds: int [batch, 2], one stateless seed per example (see
            `example_seeds`): the same seed gives the same path.
        model: The random walk's parameters.

    Returns:
        float32 [batch, steps, 2], positions (row, column) in arbitrary units.
    """
    steps = model.steps
    uniforms = _per_example(tf.random.stateless_uniform, seeds, [4 + 2 * steps])
    kicks = tf.transpose(
        _per_example(tf.random.stateless_normal, seeds, [steps, 2]), [1, 0, 2]
    )
    draws = (
        model.max_centripetal * uniforms[:, 0],
        model.max_gaussian * uniforms[:, 1],
        model.max_big_shake * uniforms[:, 2],
    )
    start = 2 * math.pi * uniforms[:, 3]
    coins = tf.transpose(tf.reshape(uniforms[:, 4:], [-1, steps, 2]), [1, 0, 2])
    velocity = tf.stack([tf.cos(start), tf.sin(start)], -1) * model.anxiety
    position = tf.zeros_like(velocity)
    positions = tf.TensorArray(tf.float32, size=steps).write(0, position)

    def one_step(step, velocity, position, positions):
        velocity, position = _walk_step(
            model, velocity, position, coins[step], kicks[step], draws
        )
        return step + 1, velocity, position, positions.write(step + 1, position)

    *_, positions = tf.while_loop(
        lambda step, *_: step < steps - 1,
        one_step,
        (tf.constant(0), velocity, position, positions),
    )
    return tf.transpose(positions.stack(), [1, 0, 2])


def shake_kernels(
    extent,
    seeds: tf.Tensor,
    size: int = DEFAULT_KERNEL_SIZE,
    model: ShakeModel = DEFAULT_SHAKE,
) -> tf.Tensor:
    """Camera-shake point-spread functions.

    Args:
        extent: float32 [batch], the trajectory's extent in pixels (the larger
            side of its bounding box), 0 ≤ extent ≤ size - 2.
        seeds: int [batch, 2], one stateless seed per example: a fixed seed
            fixes its trajectory at every extent.
        size: K, odd.
        model: The random walk's parameters.

    Returns:
        float32 [batch, K, K].
    """
    extent = tf.reshape(tf.cast(extent, tf.float32), [-1])
    paths = shake_trajectories(seeds, model)
    low = tf.reduce_min(paths, axis=1, keepdims=True)
    high = tf.reduce_max(paths, axis=1, keepdims=True)
    span = tf.reduce_max(high - low, axis=-1, keepdims=True)
    scaled = (paths - (low + high) / 2) / tf.maximum(span, 1e-12)
    points = float(size // 2) + scaled * extent[:, tf.newaxis, tf.newaxis]
    # Equal exposure per step: every position weighs the same.
    return _splat(points, tf.ones(tf.shape(points)[:2]), size)


def add_sensor_noise(images: tf.Tensor, sigma, seeds: tf.Tensor) -> tf.Tensor:
    """Gaussian read noise of standard deviation `sigma`, then 8-bit quantisation.

    Args:
        images: float32 [batch, H, W, C] in [0, 1], static H, W, C.
        sigma: float32 [batch] or scalar, ≥ 0, on the [0, 1] scale.
        seeds: int [batch, 2], one stateless seed per example.

    Returns:
        float32 [batch, H, W, C] on the 256 levels k / 255 of [0, 1].
    """
    sigma = tf.reshape(tf.cast(sigma, tf.float32), [-1, 1, 1, 1])
    noise = _per_example(tf.random.stateless_normal, seeds, images.shape[1:])
    noisy = images + sigma * noise
    levels = float(SENSOR_LEVELS)
    return tf.round(tf.clip_by_value(noisy, 0.0, 1.0) * levels) / levels
