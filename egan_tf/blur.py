"""Linear motion blur in the Fourier domain, from TensorFlow-core ops only.

The degradation is the linear-motion transfer function of Gonzalez & Woods,
Digital Image Processing, eq. 5-77, with exposure time T = 1:

    H(u, v) = sinc(u·a + v·b) · exp(-j·π·(u·a + v·b)),  a = l·cos θ,  b = l·sin θ

where sinc(s) = sin(πs) / (πs) is the normalised sinc (sinc(0) = 1).

Conventions (pinned by tests/test_blur.py):

* u and v are integer frequency indices centred on zero, `k - M // 2` for
  k = 0 … M-1 (-M/2 … M/2-1 for even M). H multiplies the centred
  (fftshifted) spectrum.
* u runs along the first image axis (rows, the textbook's x) and v along the
  second (columns). θ = 0° is motion along the rows, vertical on screen;
  θ = 90° is motion along the columns, horizontal on screen.
* The length l is a fraction of the image side: the motion covers l·M pixels
  (l = 0.05 on a 28-pixel image is 1.4 pixels). Angles are in degrees.
* The blurred image is the real part of the inverse transform, clipped to
  [0, 1]. H(0, 0) = 1, so a flat image stays flat and l = 0 is the identity.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

# The FFT runs in complex64 whatever the input dtype (float16 has no FFT).
_FFT_REAL_DTYPE = tf.float32


def _is_concrete(value) -> bool:
    """True when the value is known now (Python number, NumPy or eager tensor)."""
    return not (tf.is_tensor(value) and tf.is_symbolic_tensor(value))


def _check_parameters_eagerly(length, angle) -> None:
    length_values = np.asarray(length, dtype=np.float64)
    angle_values = np.asarray(angle, dtype=np.float64)
    if not np.all(np.isfinite(length_values)) or np.any(length_values < 0):
        raise ValueError(
            "length must be finite and non-negative. "
            f"Received: length={length_values.tolist()}"
        )
    if not np.all(np.isfinite(angle_values)):
        raise ValueError(
            f"angle must be finite. Received: angle={angle_values.tolist()}"
        )


def _parameter_assertions(length: tf.Tensor, angle: tf.Tensor) -> list[tf.Operation]:
    # In a graph the values are unknown until run time: these assertions fail
    # the call with InvalidArgumentError naming the argument instead.
    return [
        tf.debugging.assert_all_finite(length, "length must be finite"),
        tf.debugging.assert_non_negative(length, message="length must be non-negative"),
        tf.debugging.assert_all_finite(angle, "angle must be finite"),
    ]


def _as_batch_vector(value, batch_size: tf.Tensor, name: str) -> tf.Tensor:
    vector = tf.cast(tf.convert_to_tensor(value), _FFT_REAL_DTYPE)
    if vector.shape.rank is not None and vector.shape.rank > 1:
        raise ValueError(
            f"{name} must be a scalar or a vector [batch]. Received: {name}.shape={vector.shape}"
        )
    return tf.broadcast_to(tf.reshape(vector, [-1]), [batch_size])


def centred_frequencies(size: int) -> tf.Tensor:
    """Integer frequency indices of an fftshifted axis: k - size // 2.

    Returns:
        float32 tensor [size], -size/2 … size/2-1 for even size.
    """
    return tf.range(size, dtype=_FFT_REAL_DTYPE) - float(size // 2)


def motion_blur_transfer_function(height: int, width: int, length, angle) -> tf.Tensor:
    """Builds the centred transfer function H for each example.

    Args:
        height: Image rows M (axis of u).
        width: Image columns N (axis of v).
        length: float tensor [batch] or scalar, l as a fraction of the image side.
        angle: float tensor [batch] or scalar, θ in degrees.

    Returns:
        complex64 tensor [batch, height, width] (batch 1 for scalar arguments),
        to multiply the fftshifted spectrum.
    """
    length = tf.reshape(tf.cast(length, _FFT_REAL_DTYPE), [-1, 1, 1])
    radians = tf.reshape(tf.cast(angle, _FFT_REAL_DTYPE), [-1, 1, 1]) * (
        math.pi / 180.0
    )
    a = length * tf.cos(radians)
    b = length * tf.sin(radians)
    u = tf.reshape(centred_frequencies(height), [1, height, 1])
    v = tf.reshape(centred_frequencies(width), [1, 1, width])
    s = u * a + v * b
    pi_s = math.pi * s
    # sinc(0) = 1. The inner where keeps the division (and its gradient) finite.
    is_zero = tf.equal(s, 0.0)
    safe_pi_s = tf.where(is_zero, tf.ones_like(pi_s), pi_s)
    sinc = tf.where(is_zero, tf.ones_like(s), tf.sin(safe_pi_s) / safe_pi_s)
    return tf.complex(sinc * tf.cos(pi_s), -sinc * tf.sin(pi_s))


def checked_image_batch(images) -> tuple[tf.Tensor, tf.Tensor]:
    """Checks a batch of images for a blur; returns it and its 4-D view.

    Args:
        images: float [batch, height, width, channels] or [batch, height,
            width], with a static height and width.

    Returns:
        (images as a tensor, the same as [batch, height, width, channels]).

    Raises:
        ValueError: For another rank, a non-float dtype or a dynamic size.
    """
    images = tf.convert_to_tensor(images)
    if images.shape.rank not in (3, 4):
        raise ValueError(
            "images must be [batch, height, width, channels] or "
            f"[batch, height, width]. Received: images.shape={images.shape}"
        )
    if not images.dtype.is_floating:
        raise ValueError(
            f"images must be a float tensor in [0, 1]. Received: images.dtype={images.dtype.name}"
        )
    four_d = images if images.shape.rank == 4 else images[..., tf.newaxis]
    if four_d.shape[1] is None or four_d.shape[2] is None:
        raise ValueError(
            f"images must have a static height and width. Received: images.shape={images.shape}"
        )
    return images, four_d


def apply_motion_blur(images, length, angle, clip: bool = True) -> tf.Tensor:
    """Blurs a batch of images by linear motion of length l at angle θ.

    Args:
        images: float tensor [batch, height, width, channels] or
            [batch, height, width], values in [0, 1]. Any float dtype; the FFT
            runs in float32 and the result is cast back.
        length: scalar or float tensor [batch]: l as a fraction of the image
            side (motion of l·height pixels along the rows when θ = 0). l ≥ 0.
        angle: scalar or float tensor [batch]: θ in degrees, finite.
        clip: Clip the result to [0, 1] (turn off only to inspect the raw
            inverse transform).

    Returns:
        Tensor of the same shape and dtype as `images`.

    Raises:
        ValueError: For images of another rank, or (when the values are known,
            i.e. eagerly) a negative or non-finite length or non-finite angle.
            In a graph, bad values raise InvalidArgumentError at run time.
    """
    images, four_d = checked_image_batch(images)
    rank = images.shape.rank
    if _is_concrete(length) and _is_concrete(angle):
        _check_parameters_eagerly(length, angle)
    batch_size = tf.shape(images)[0]
    length = _as_batch_vector(length, batch_size, "length")
    angle = _as_batch_vector(angle, batch_size, "angle")
    assertions = [] if tf.executing_eagerly() else _parameter_assertions(length, angle)
    with tf.control_dependencies(assertions):
        height, width = four_d.shape[1], four_d.shape[2]
        transfer = motion_blur_transfer_function(height, width, length, angle)
        # FFT ops work on the innermost two axes: move channels in front of them.
        planes = tf.transpose(tf.cast(four_d, _FFT_REAL_DTYPE), [0, 3, 1, 2])
        spectrum = tf.signal.fftshift(
            tf.signal.fft2d(tf.complex(planes, tf.zeros_like(planes))), axes=[-2, -1]
        )
        blurred_spectrum = spectrum * transfer[:, tf.newaxis, :, :]
        blurred = tf.math.real(
            tf.signal.ifft2d(tf.signal.ifftshift(blurred_spectrum, axes=[-2, -1]))
        )
        if clip:
            blurred = tf.clip_by_value(blurred, 0.0, 1.0)
        blurred = tf.transpose(blurred, [0, 2, 3, 1])
        if rank == 3:
            blurred = blurred[..., 0]
        return tf.cast(blurred, images.dtype)


@keras.saving.register_keras_serializable(package="egan_tf")
class MotionBlur(keras.layers.Layer):
    """Keras layer applying linear motion blur (see the module docstring).

    Called as `layer(images)` it blurs with the fixed `length` and `angle` given
    to the constructor; called as `layer(images, length, angle)` with float
    tensors of shape [batch] it blurs each example by its own setting, so one
    batch may mix settings.

    Args:
        length: Default l, a fraction of the image side, ≥ 0.
        angle: Default θ in degrees.
        clip: Clip the output to [0, 1].
        **kwargs: Standard layer arguments (name, dtype, …).

    Input shape: [batch, height, width, channels] or [batch, height, width].
    Output shape: same as the input.
    """

    def __init__(
        self, length: float = 0.0, angle: float = 0.0, clip: bool = True, **kwargs
    ):
        super().__init__(**kwargs)
        _check_parameters_eagerly(length, angle)
        self.length = float(length)
        self.angle = float(angle)
        self.clip = bool(clip)

    def call(self, images, length=None, angle=None):
        if length is None:
            length = tf.constant(self.length, _FFT_REAL_DTYPE)
        if angle is None:
            angle = tf.constant(self.angle, _FFT_REAL_DTYPE)
        return apply_motion_blur(images, length, angle, clip=self.clip)

    def compute_output_shape(self, images_shape, length_shape=None, angle_shape=None):
        return tuple(images_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"length": self.length, "angle": self.angle, "clip": self.clip})
        return config
