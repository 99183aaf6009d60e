"""Benchmark: our blur layers against NumPy's FFT and SciPy's convolution.

Blurs 10,000 MNIST test digits, each by its own (l, θ) drawn at random, four
ways in one process:

* ours, Fourier: `MotionBlur` (the paper's transfer function, batched FFT in
  one graph call per `--batch` digits);
* ours, kernel: `KernelBlur` with each digit's explicit 27x27 kernel
  (`fourier_kernels`, the same blur as a point-spread function);
* NumPy: the same transfer function evaluated and applied with `numpy.fft`,
  `--batch` digits at a time (vectorised, no Python loop over images);
* SciPy: `scipy.signal.fftconvolve` and `scipy.ndimage.convolve` of each digit
  with its explicit kernel, one digit at a time (what per-image code does).

Prints images per second (median of repeats), each against NumPy's FFT, the
largest pixel difference from ours computing the same thing (the Fourier
formula, or the convolution with the explicit kernel: the two differ, since
the kernel drops the formula's ringing below zero), and the fp32 and bf16
matmul rates measured in the same run.

    python bench/blur_speed.py
"""

from __future__ import annotations

import math

import click
import numpy as np
from common import echo_rates, median_seconds


def numpy_motion_blur(images, lengths, angles):
    """The transfer function of egan_tf.blur in NumPy: images [n, 28, 28]
    float32 in [0, 1], lengths and angles [n]."""
    size = images.shape[1]
    frequencies = np.arange(size, dtype=np.float32) - size // 2
    radians = np.deg2rad(angles).astype(np.float32)
    a = (lengths * np.cos(radians))[:, None, None]
    b = (lengths * np.sin(radians))[:, None, None]
    s = frequencies[None, :, None] * a + frequencies[None, None, :] * b
    transfer = np.sinc(s) * np.exp(-1j * math.pi * s)
    spectrum = np.fft.fftshift(np.fft.fft2(images), axes=(-2, -1))
    blurred = np.fft.ifft2(np.fft.ifftshift(spectrum * transfer, axes=(-2, -1)))
    return np.clip(blurred.real, 0.0, 1.0).astype(np.float32)


@click.command()
@click.option("--count", type=click.IntRange(min=1), default=10000, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--scipy-sample",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Digits timed for SciPy's per-image ways (rates are per image).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=10000,
    show_default=True,
    help="Digits per call for ours and NumPy's vectorised FFT.",
)
def main(count, repeats, scipy_sample, batch):
    import scipy.ndimage
    import scipy.signal
    import tensorflow as tf

    from egan_tf.blur import MotionBlur
    from egan_tf.data import load_split
    from egan_tf.kernel_blur import Boundary, KernelBlur
    from egan_tf.kernels import fourier_kernels

    echo_rates("before")
    digits = load_split("test").images[:count, :, :, 0].astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    lengths = rng.uniform(0.0, 0.3, count).astype(np.float32)
    angles = rng.uniform(0.0, 180.0, count).astype(np.float32)
    kernels = fourier_kernels(lengths, angles, 27).numpy()
    fourier_layer = MotionBlur()
    kernel_layer = KernelBlur(boundary=Boundary.ZERO)
    fourier = tf.function(lambda x, length, angle: fourier_layer(x, length, angle))
    by_kernel = tf.function(lambda x, kernel: kernel_layer(x, kernel))

    def batched(run):
        return np.concatenate(
            [run(slice(start, start + batch)) for start in range(0, count, batch)]
        )

    outputs = {}
    ways = {
        "ours, Fourier (MotionBlur)": lambda: batched(
            lambda part: fourier(digits[part], lengths[part], angles[part]).numpy()
        ),
        "ours, kernel (KernelBlur)": lambda: batched(
            lambda part: by_kernel(digits[part], kernels[part]).numpy()
        ),
        "NumPy FFT, same formula": lambda: batched(
            lambda part: numpy_motion_blur(digits[part], lengths[part], angles[part])
        ),
        "SciPy fftconvolve, per image": lambda: np.stack(
            [
                scipy.signal.fftconvolve(digits[i], kernels[i], mode="same")
                for i in range(scipy_sample)
            ]
        ),
        "SciPy ndimage.convolve, per image": lambda: np.stack(
            [
                scipy.ndimage.convolve(digits[i], kernels[i], mode="constant")
                for i in range(scipy_sample)
            ]
        ),
    }
    rates = {}
    for name, run in ways.items():

        def timed(name=name, run=run):
            outputs[name] = run()

        seconds, _ = median_seconds(timed, repeats)
        rates[name] = len(outputs[name]) / seconds
    echo_rates("after")
    references = {
        "ours, Fourier (MotionBlur)": "ours, Fourier (MotionBlur)",
        "NumPy FFT, same formula": "ours, Fourier (MotionBlur)",
    }
    numpy_rate = rates["NumPy FFT, same formula"]
    click.echo(f"{count} digits, own (l, θ) each, median of {repeats}")
    click.echo(f"{'way':<36} {'images/s':>10} {'x NumPy':>8} {'max |diff|':>11}")
    for name, rate in rates.items():
        output = outputs[name]
        reference = outputs[references.get(name, "ours, kernel (KernelBlur)")]
        difference = np.abs(output - reference[: len(output)]).max()
        click.echo(
            f"{name:<36} {rate:10.0f} {rate / numpy_rate:8.2f} {difference:11.2e}"
        )


if __name__ == "__main__":
    main()
