"""Calls the GAN's compiled train step again and again from one state and
reports the calls whose result differs from the first call's: the probe that
found why resume was exact only to rounding (README, "More devices, more machines").

    python experiments/repeated_step.py --optimizer sgd --calls 200
    python experiments/repeated_step.py --arithmetic-optimizer --calls 200

The tests' tiny networks, one intra-op and one inter-op thread, five warm-up
steps; then every call restores G, D and both optimizers' variables (dropout's
seed-generator states among them) and runs one step on one fixed batch and
seed. Prints, for the first differing call, which variables differ, then how
many calls differ. With the training runtime's graph options none does.
`--arithmetic-optimizer` turns grappler's arithmetic optimiser back on: its
`AddN`s then round differently once TensorFlow's executor starts running cheap
kernels inline (after about 90 calls), and about half the later calls differ.
"""

from __future__ import annotations

import click
import numpy as np


@click.command()
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam")
@click.option("--calls", type=click.IntRange(min=2), default=200, show_default=True)
@click.option(
    "--arithmetic-optimizer",
    is_flag=True,
    help="Turn grappler's arithmetic optimiser back on after the runtime's options.",
)
def main(optimizer: str, calls: int, arithmetic_optimizer: bool) -> None:
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)

    from egan_tf.config import EganConfig
    from egan_tf.networks import build_discriminator, build_generator
    from egan_tf.training.gan import make_gan_train_step
    from egan_tf.training.repeatability import differing_calls
    from egan_tf.training.runtime import Runtime

    # The tests' TINY_EGAN: the effect does not need the shipped sizes.
    tiny = EganConfig(
        latent_dim=8,
        generator_filters=(8, 4),
        discriminator_filters=(4, 8),
        encoder_filters=(4, 8, 8),
    )
    runtime = Runtime.create()
    if arithmetic_optimizer:
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": True})
    generator = runtime.build(lambda: build_generator(tiny))
    discriminator = runtime.build(lambda: build_discriminator(tiny))

    def make_optimizer():
        if optimizer == "sgd":
            return keras.optimizers.SGD(1e-3)
        return keras.optimizers.Adam(2e-4, beta_1=0.5)

    optimizers = [
        runtime.build_optimizer(make_optimizer, model.trainable_variables)
        for model in (generator, discriminator)
    ]
    step = runtime.compile_step(
        make_gan_train_step(generator, discriminator, *optimizers)
    )
    images = tf.constant(
        np.random.default_rng(0).random((32, 28, 28, 1), dtype=np.float32)
    )
    labels = tf.zeros([32], tf.int64)
    batch = tf.constant(32)
    for warm_up in range(5):
        step(images, labels, tf.constant([warm_up, 1], tf.int64), batch)
    variables = (
        generator.variables
        + discriminator.variables
        + optimizers[0].variables
        + optimizers[1].variables
    )
    differences = differing_calls(
        lambda: step(images, labels, tf.constant([99, 1], tf.int64), batch),
        variables,
        calls,
    )
    if differences:
        click.echo(f"Call {differences[0].call} is the first to differ from call 0:")
        for variable in differences[0].variables:
            click.echo(
                f"  {variable.path}: {variable.count} values, "
                f"by up to {variable.largest:.3g}"
            )
    click.echo(f"{len(differences)} of {calls - 1} calls differ from the first.")


if __name__ == "__main__":
    main()
