"""Linear motion blur by convolution with a line kernel in the image domain.

An independent second implementation of the blur, for the out-of-distribution
check: it shares no code with the Fourier layer of `egan_tf.blur`. The kernel
is built in NumPy by splatting points spaced evenly along the motion path onto
the pixel grid (bilinear weights), and applied with `tf.nn.conv2d` and zero
padding, so, unlike the Fourier model, nothing wraps around the borders.

Conventions match `egan_tf.blur`: l is a fraction of the image side, θ = 0 is
motion along the rows (axis 0), θ = 90° along the columns, and the streak runs
from each point towards +θ over l·side pixels.
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

# Points per pixel of path length; enough for the kernel to be smooth.
_SAMPLES_PER_PIXEL = 16


def line_kernel(length_pixels: float, angle_degrees: float) -> np.ndarray:
    """The motion kernel k: k[c + p] is the weight of the copy shifted by p.

    Args:
        length_pixels: Length of the motion path in pixels, ≥ 0.
        angle_degrees: Direction θ in degrees (0: along the rows).

    Returns:
        float64 [size, size], odd size, summing to 1, centred at c = size // 2.
    """
    if not (math.isfinite(length_pixels) and length_pixels >= 0):
        raise ValueError(
            f"length_pixels must be finite and non-negative. Received: length_pixels={length_pixels}"
        )
    radius = math.ceil(length_pixels) + 1
    size = 2 * radius + 1
    kernel = np.zeros([size, size], np.float64)
    radians = math.radians(angle_degrees)
    direction = np.array([math.cos(radians), math.sin(radians)])
    samples = max(2, math.ceil(length_pixels * _SAMPLES_PER_PIXEL) + 1)
    for t in np.linspace(0.0, 1.0, samples):
        row, column = radius + t * length_pixels * direction
        top, left = math.floor(row), math.floor(column)
        down, right = row - top, column - left
        kernel[top, left] += (1 - down) * (1 - right)
        kernel[top + 1, left] += down * (1 - right)
        kernel[top, left + 1] += (1 - down) * right
        kernel[top + 1, left + 1] += down * right
    return kernel / kernel.sum()


def spatial_motion_blur(images, length: float, angle_degrees: float) -> tf.Tensor:
    """Blurs every image of a batch by the same line kernel.

    Args:
        images: float32 [batch, height, width, 1] in [0, 1].
        length: l, a fraction of the image height.
        angle_degrees: θ in degrees.

    Returns:
        float32 [batch, height, width, 1] in [0, 1].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    kernel = line_kernel(float(length) * int(images.shape[1]), float(angle_degrees))
    # conv2d correlates; flipping the kernel makes it a convolution.
    weights = tf.constant(kernel[::-1, ::-1, np.newaxis, np.newaxis], tf.float32)
    blurred = tf.nn.conv2d(images, weights, strides=1, padding="SAME")
    return tf.clip_by_value(blurred, 0.0, 1.0)
