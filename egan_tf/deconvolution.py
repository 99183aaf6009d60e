"""Classical Wiener deconvolution of linear motion blur."""

from __future__ import annotations

import tensorflow as tf

from egan_tf.blur import motion_blur_transfer_function


def wiener_deconvolve(
    images: tf.Tensor, length: tf.Tensor, angle: tf.Tensor, noise_to_signal: float
) -> tf.Tensor:
    """Undoes motion blur with the Wiener filter conj(H) / (|H|² + K).

    H is the blur's transfer function (`egan_tf.blur`), so with the true
    (l, θ) this is the best linear inverse of the Fourier blur model; K, the
    noise-to-signal power ratio, keeps the division bounded where H is near
    zero (at sinc's zeros, where the blur destroyed the frequency).

    Args:
        images: float32 [batch, height, width, 1], blurred, in [0, 1].
        length: float32 [batch], l of each image's blur.
        angle: float32 [batch], θ in degrees.
        noise_to_signal: K > 0.

    Returns:
        float32 [batch, height, width, 1], clipped to [0, 1].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = int(images.shape[1]), int(images.shape[2])
    transfer = motion_blur_transfer_function(height, width, length, angle)
    planes = images[..., 0]
    spectrum = tf.signal.fftshift(
        tf.signal.fft2d(tf.complex(planes, tf.zeros_like(planes))), axes=[-2, -1]
    )
    power = tf.square(tf.abs(transfer))
    gain = tf.math.conj(transfer) / tf.complex(power + noise_to_signal, 0.0)
    restored = tf.math.real(
        tf.signal.ifft2d(tf.signal.ifftshift(spectrum * gain, axes=[-2, -1]))
    )
    return tf.clip_by_value(restored, 0.0, 1.0)[..., tf.newaxis]


def wiener_deconvolve_kernels(
    images: tf.Tensor, kernels: tf.Tensor, noise_to_signal: float
) -> tf.Tensor:
    """Undoes a known point-spread function with the Wiener filter.

    The filter treats the blur as circular (the DFT's), so near the border,
    where the true blur was a zero-padded one, it is only approximately the
    inverse.

    Args:
        images: float32 [batch, height, width, 1], blurred, in [0, 1].
        kernels: float32 [batch, K, K], each image's PSF, centred at K // 2.
        noise_to_signal: K > 0.

    Returns:
        float32 [batch, height, width, 1], clipped to [0, 1].
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = int(images.shape[1]), int(images.shape[2])
    size = int(kernels.shape[-1])
    padded = tf.pad(kernels, [[0, 0], [0, height - size], [0, width - size]])
    padded = tf.roll(padded, shift=[-(size // 2), -(size // 2)], axis=[1, 2])
    transfer = tf.signal.rfft2d(padded)
    spectrum = tf.signal.rfft2d(images[..., 0])
    power = tf.square(tf.abs(transfer))
    gain = tf.math.conj(transfer) / tf.complex(power + noise_to_signal, 0.0)
    restored = tf.signal.irfft2d(spectrum * gain, fft_length=[height, width])
    return tf.clip_by_value(restored, 0.0, 1.0)[..., tf.newaxis]
