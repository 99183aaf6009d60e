"""Blur by any point-spread function, in the Fourier domain, from core ops.

`apply_kernel_blur(images, kernels, boundary)` convolves each image with its
own kernel: a true convolution (the kernel is flipped), with the kernel's
centre at index K // 2 in both axes. Two boundaries:

* `Boundary.ZERO`: linear convolution of the zero-padded image, cropped back
  to the image ("same" size). For odd K it equals
  `scipy.signal.convolve2d(image, kernel, mode="same")`.
* `Boundary.CIRCULAR`: circular convolution, what any DFT-domain blur does
  (the paper's `MotionBlur` is this, with its transfer function's kernel).

It is differentiable, runs eagerly, in `tf.function`, `tf.data`, a functional
model and a SavedModel, with `tf.signal` ops only.
"""

from __future__ import annotations

import enum

import keras
import numpy as np
import tensorflow as tf

from egan_tf.blur import checked_image_batch

# The FFT runs in complex64 whatever the input dtype (float16 has no FFT).
_FFT_REAL_DTYPE = tf.float32
# How far a kernel's sum may be from 1 and how negative an entry may be
# before it is refused (float32 arithmetic of kernels built in TF).
KERNEL_TOLERANCE = 1e-4


class Boundary(enum.StrEnum):
    """What the image is taken to be beyond its border."""

    ZERO = "zero"  # black: a linear convolution of the padded image
    CIRCULAR = "circular"  # the image repeated: a circular convolution


def check_kernels(kernels, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """Checks point-spread functions given as values (not graph tensors).

    Args:
        kernels: float [batch, K, K] (or [K, K]), non-negative, each summing
            to 1.
        image_size: (height, width); a kernel larger than the image is refused.

    Returns:
        The kernels as float32 [batch, K, K].

    Raises:
        ValueError: One line saying what is wrong.
    """
    values = np.asarray(kernels, dtype=np.float64)
    if values.ndim == 2:
        values = values[np.newaxis]
    if values.ndim != 3 or values.shape[1] != values.shape[2] or values.shape[1] < 1:
        raise ValueError(
            f"kernels must be [batch, K, K]. Received: kernels.shape={values.shape}"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("kernels must be finite. Received: a NaN or infinite entry")
    if values.min() < -KERNEL_TOLERANCE:
        raise ValueError(
            f"kernels must be non-negative. Received: min={values.min():.3g}"
        )
    sums = values.sum(axis=(1, 2))
    worst = float(np.max(np.abs(sums - 1.0)))
    if worst > KERNEL_TOLERANCE:
        raise ValueError(
            "kernels must each sum to 1. "
            f"Received: sums from {sums.min():.6g} to {sums.max():.6g}"
        )
    if image_size is not None and values.shape[1] > min(image_size):
        raise ValueError(
            f"kernels must not be larger than the image {image_size[0]}x"
            f"{image_size[1]}. Received: K={values.shape[1]}"
        )
    return values.astype(np.float32)


def _kernel_assertions(kernels: tf.Tensor) -> list[tf.Operation]:
    # In a graph the values are unknown until run time: these fail the call
    # with InvalidArgumentError naming the problem instead.
    sums = tf.reduce_sum(kernels, axis=[1, 2])
    return [
        tf.debugging.assert_all_finite(kernels, "kernels must be finite"),
        tf.debugging.assert_greater_equal(
            kernels, -KERNEL_TOLERANCE, message="kernels must be non-negative"
        ),
        tf.debugging.assert_less_equal(
            tf.abs(sums - 1.0), KERNEL_TOLERANCE, message="kernels must sum to 1"
        ),
    ]


def _is_concrete(value) -> bool:
    return not (tf.is_tensor(value) and tf.is_symbolic_tensor(value))


def _convolve_planes(
    planes: tf.Tensor, kernels: tf.Tensor, boundary: Boundary
) -> tf.Tensor:
    """planes float32 [batch, channels, H, W], kernels float32 [batch, K, K]."""
    height, width = int(planes.shape[-2]), int(planes.shape[-1])
    size = int(kernels.shape[-1])
    centre = size // 2
    if boundary == Boundary.ZERO:
        # Pad to the full linear-convolution size so nothing wraps around.
        fft_height, fft_width = height + size - 1, width + size - 1
        padded_planes = tf.pad(planes, [[0, 0], [0, 0], [0, size - 1], [0, size - 1]])
        padded_kernels = tf.pad(
            kernels, [[0, 0], [0, fft_height - size], [0, fft_width - size]]
        )
    else:
        fft_height, fft_width = height, width
        padded_planes = planes
        # Kernel centre to index (0, 0): the circular convolution then
        # leaves the image where it was.
        padded_kernels = tf.pad(
            kernels, [[0, 0], [0, height - size], [0, width - size]]
        )
        padded_kernels = tf.roll(padded_kernels, shift=[-centre, -centre], axis=[1, 2])
    spectrum = tf.signal.rfft2d(padded_planes, fft_length=[fft_height, fft_width])
    transfer = tf.signal.rfft2d(padded_kernels, fft_length=[fft_height, fft_width])
    full = tf.signal.irfft2d(
        spectrum * transfer[:, tf.newaxis], fft_length=[fft_height, fft_width]
    )
    if boundary == Boundary.ZERO:
        return full[..., centre : centre + height, centre : centre + width]
    return full


def apply_kernel_blur(
    images,
    kernels,
    boundary: Boundary | str = Boundary.ZERO,
    validate: bool = True,
) -> tf.Tensor:
    """Convolves each image with its own point-spread function.

    Args:
        images: float tensor [batch, height, width, channels] or
            [batch, height, width], values in [0, 1].
        kernels: float tensor [batch, K, K] (or [K, K] for every image):
            non-negative, each summing to 1, K at most the image side.
        boundary: `Boundary.ZERO` or `Boundary.CIRCULAR`.
        validate: Check the kernels (eagerly now, in a graph at run time);
            turn off only for kernels that are not point-spread functions,
            such as the paper's transfer function's, which rings below zero.

    Returns:
        Tensor of the same shape and dtype as `images` (not clipped: a
        convolution with a non-negative kernel summing to 1 stays in [0, 1]).

    Raises:
        ValueError: For a bad rank, boundary or (eagerly) bad kernels.
    """
    images, four_d = checked_image_batch(images)
    rank = images.shape.rank
    try:
        boundary = Boundary(boundary)
    except ValueError:
        raise ValueError(
            f"boundary must be one of {', '.join(Boundary)}. Received: boundary={boundary!r}"
        ) from None
    height, width = int(four_d.shape[1]), int(four_d.shape[2])
    if validate and _is_concrete(kernels):
        kernels = check_kernels(kernels, (height, width))
    kernels = tf.cast(tf.convert_to_tensor(kernels), _FFT_REAL_DTYPE)
    if kernels.shape.rank == 2:
        kernels = kernels[tf.newaxis]
    if kernels.shape.rank != 3 or kernels.shape[-1] is None:
        raise ValueError(
            f"kernels must be [batch, K, K] with a static K. Received: kernels.shape={kernels.shape}"
        )
    if int(kernels.shape[-1]) > min(height, width):
        raise ValueError(
            f"kernels must not be larger than the image {height}x{width}. "
            f"Received: K={kernels.shape[-1]}"
        )
    kernels = tf.broadcast_to(
        kernels, tf.concat([tf.shape(four_d)[:1], tf.shape(kernels)[1:]], 0)
    )
    assertions = (
        _kernel_assertions(kernels) if validate and not tf.executing_eagerly() else []
    )
    with tf.control_dependencies(assertions):
        planes = tf.transpose(tf.cast(four_d, _FFT_REAL_DTYPE), [0, 3, 1, 2])
        blurred = tf.transpose(
            _convolve_planes(planes, kernels, boundary), [0, 2, 3, 1]
        )
    if rank == 3:
        blurred = blurred[..., 0]
    return tf.cast(blurred, images.dtype)


@keras.saving.register_keras_serializable(package="egan_tf")
class KernelBlur(keras.layers.Layer):
    """Keras layer convolving each image with its own kernel.

    Called as `layer(images, kernels)` with images [batch, H, W, C] in [0, 1]
    and kernels [batch, K, K] (see `apply_kernel_blur`).

    Args:
        boundary: "zero" or "circular".
        validate: Check the kernels (see `apply_kernel_blur`).
    """

    def __init__(self, boundary: str = "zero", validate: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.boundary = Boundary(boundary)
        self.validate = bool(validate)

    def call(self, images, kernels):
        return apply_kernel_blur(images, kernels, self.boundary, self.validate)

    def compute_output_shape(self, images_shape, kernels_shape=None):
        return images_shape

    def get_config(self):
        return {
            **super().get_config(),
            "boundary": str(self.boundary),
            "validate": self.validate,
        }
