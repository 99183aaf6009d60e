"""What every benchmark shares: the machine's matmul rates, model FLOPs and
median timings.

Benchmarks compare two ways in one process and print the ratio; beside every
absolute figure they print this machine's dense fp32 and bf16 matmul rates,
measured in the same run, so that each figure can be read as a fraction of
what the CPU can do (machines of one kind differ by 2x).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import click


@dataclasses.dataclass(frozen=True)
class MatmulRates:
    """Dense 2048x2048 matmul rates of this machine, GFLOP/s."""

    float32: float
    bfloat16: float

    def describe(self) -> str:
        return (
            f"matmul rate of this machine: float32 {self.float32:.0f} GFLOP/s, "
            f"bfloat16 {self.bfloat16:.0f} GFLOP/s "
            f"({self.bfloat16 / self.float32:.2f}x)"
        )


def matmul_rates() -> MatmulRates:
    """Measures both rates now (median of 7 products each)."""
    import tensorflow as tf

    from egan_tf.machine import matmul_rate

    return MatmulRates(matmul_rate(tf.float32), matmul_rate(tf.bfloat16))


def echo_rates(label: str) -> MatmulRates:
    rates = matmul_rates()
    click.echo(f"[{label}] {rates.describe()}")
    return rates


def model_flops(model) -> int:
    """Floating-point operations of one example through `model`'s
    convolutions and dense layers (2 per multiply-add; the element-wise
    layers, a few percent, are not counted)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += model_flops(layer)
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            _, height, width, channels = layer.input.shape
            kernel_height, kernel_width = layer.kernel_size
            total += (
                2
                * height
                * width
                * channels
                * layer.filters
                * (kernel_height * kernel_width)
            )
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, channels = layer.output.shape
            kernel_height, kernel_width = layer.kernel_size
            total += (
                2
                * height
                * width
                * layer.filters
                * (kernel_height * kernel_width * layer.input.shape[-1])
            )
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def median_seconds(run: Callable[[], object], repeats: int) -> tuple[float, list]:
    """Median wall time of `repeats` calls of `run` after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def paper_adam():
    """Adam at the paper's GAN settings (DCGAN's 2e-4, beta_1 0.5)."""
    import keras

    from egan_tf.defaults import PAPER_GAN_TRAINING

    return keras.optimizers.Adam(
        PAPER_GAN_TRAINING.learning_rate, beta_1=PAPER_GAN_TRAINING.beta_1
    )


def paper_gan_step(runtime):
    """The shipped GAN architecture, seeded and built in `runtime`'s scope,
    with its compiled train step. Returns (generator, discriminator, step)."""
    import keras

    from egan_tf.config import EganConfig
    from egan_tf.networks import build_discriminator, build_generator
    from egan_tf.training.gan import make_gan_train_step

    keras.utils.set_random_seed(0)
    generator = runtime.build(lambda: build_generator(EganConfig()))
    discriminator = runtime.build(lambda: build_discriminator(EganConfig()))
    step = runtime.compile_step(
        make_gan_train_step(
            generator,
            discriminator,
            runtime.build_optimizer(paper_adam, generator.trainable_variables),
            runtime.build_optimizer(paper_adam, discriminator.trainable_variables),
        )
    )
    return generator, discriminator, step
