"""Benchmark: our GAN train step against the same networks trained the Keras
way (a `keras.Model` whose `train_step` is overridden, run by `model.fit`).

Both train the shipped architecture (`EganConfig()`) with the same Adam
settings, losses and label smoothing on the same batches of 128 MNIST
training digits. Ours is the replica step of `egan_tf.training.gan` compiled
by the default `Runtime`, called once per batch by a Python loop; the Keras
way is keras-io's "DCGAN overriding train_step" pattern under `fit`, which
compiles its own step and iterates a `tf.data` pipeline. Ours is also run
with its step compiled by XLA (`--jit`), and fed by the same input pipeline
with tf.data autotuning on (as before session 9), and with grappler's
arithmetic optimiser on (as before session 28). Prints the median
steps per second of each over repeats of `--steps` steps, the ratio, the
network arithmetic per step and the fp32 and bf16 matmul rates measured in
the same run.

    python bench/gan_step.py
"""

from __future__ import annotations

import click
from common import echo_rates, median_seconds, model_flops, paper_adam, paper_gan_step

BATCH = 128


def keras_way_gan(generator, discriminator, latent_dim, real_label):
    """keras-io's DCGAN: a Model with an overridden train_step."""
    import keras
    import tensorflow as tf

    from egan_tf import losses

    class OverriddenGan(keras.Model):
        def __init__(self):
            super().__init__()
            self.generator = generator
            self.discriminator = discriminator
            self.seed_generator = keras.random.SeedGenerator(0)

        def compile(self, generator_optimizer, discriminator_optimizer):
            super().compile()
            self.generator_optimizer = generator_optimizer
            self.discriminator_optimizer = discriminator_optimizer

        def train_step(self, real_images):
            batch_size = tf.shape(real_images)[0]
            latents = keras.random.normal(
                (batch_size, latent_dim), seed=self.seed_generator
            )
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fake_images = self.generator(latents, training=True)
                real_logits = self.discriminator(real_images, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                d_loss = tf.reduce_mean(
                    losses.discriminator_loss(real_logits, fake_logits, real_label)
                )
                g_loss = tf.reduce_mean(losses.generator_loss(fake_logits))
            d_variables = self.discriminator.trainable_variables
            g_variables = self.generator.trainable_variables
            self.discriminator_optimizer.apply_gradients(
                zip(d_tape.gradient(d_loss, d_variables), d_variables, strict=True)
            )
            self.generator_optimizer.apply_gradients(
                zip(g_tape.gradient(g_loss, g_variables), g_variables, strict=True)
            )
            return {"d_loss": d_loss, "g_loss": g_loss}

    return OverriddenGan()


@click.command()
@click.option("--steps", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
def main(steps, repeats):
    import keras
    import numpy as np
    import tensorflow as tf

    from egan_tf.config import EganConfig
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.execution import ExecutionConfig
    from egan_tf.networks import build_discriminator, build_generator
    from egan_tf.training.gan import REAL_LABEL
    from egan_tf.training.runtime import Runtime, replica_shares_dataset

    echo_rates("before")
    config = EganConfig()
    arrays = load_split("train", limit=steps * BATCH)
    images = to_unit_interval(arrays.images)
    labels = tf.zeros([BATCH], tf.int64)

    # The loops' runtime turns deterministic kernels on for the process; the
    # step built while they are off shows what that costs. TensorFlow exports
    # only the switch on, so the bench reaches for its internal switch off.
    from tensorflow.python.framework import config as tf_config

    tf_config.disable_op_determinism()
    _, _, nondeterministic_step = paper_gan_step(Runtime(ExecutionConfig(),
        tf.distribute.get_strategy()))  # fmt: skip
    runtime = Runtime.create()
    generator, discriminator, step = paper_gan_step(runtime)
    # The runtime also turns grappler's arithmetic optimiser off (its AddN
    # made resume inexact); a step first called while it is on is optimised
    # with it, whatever the option says later.
    tf.config.optimizer.set_experimental_options({"arithmetic_optimization": True})
    _, _, arithmetic_step = paper_gan_step(runtime)
    arithmetic_step(
        images[:BATCH], labels, tf.constant([0, 0], tf.int64),
        tf.constant(BATCH, tf.int64),
    )  # fmt: skip
    tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
    _, _, xla_step = paper_gan_step(Runtime.create(ExecutionConfig(jit=True)))
    # Forward and backward (about twice the forward) of G, and of D twice.
    flops = 3 * BATCH * (model_flops(generator) + 2 * model_flops(discriminator))
    batches = [images[index * BATCH : (index + 1) * BATCH] for index in range(steps)]
    size = tf.constant(BATCH, tf.int64)

    def ours(step=step):
        for index, batch in enumerate(batches):
            seed = tf.constant([0, index], tf.int64)
            metrics = step(batch, labels, seed, size)
        float(metrics["d_loss"])

    order = np.arange(len(arrays))

    def ours_with_the_loops_input():
        batches = runtime.distributed_batches(arrays, order, BATCH)
        for index, (batch, batch_labels, global_size) in enumerate(batches):
            seed = tf.constant([0, index], tf.int64)
            metrics = step(batch, batch_labels, seed, global_size)
        float(metrics["d_loss"])

    # The loop's input before session 9: the same pipeline with tf.data's
    # autotuning on, whose thread could stall the iterator's deletion.
    autotuning = tf.data.Options()
    autotuning.autotune.enabled = True

    def ours_with_autotuning_input():
        def dataset_fn(context):
            dataset = replica_shares_dataset(arrays, order, BATCH, 0, 1, context)
            return dataset.with_options(autotuning)

        batches = iter(runtime.strategy.distribute_datasets_from_function(dataset_fn))
        for index in range(steps):
            batch, batch_labels = next(batches)
            seed = tf.constant([0, index], tf.int64)
            metrics = step(batch, batch_labels, seed, size)
        float(metrics["d_loss"])

    keras.utils.set_random_seed(0)
    gan = keras_way_gan(
        build_generator(config), build_discriminator(config), config.latent_dim,
        REAL_LABEL,
    )  # fmt: skip
    gan.compile(paper_adam(), paper_adam())
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(BATCH)

    def keras_way():
        gan.fit(dataset, epochs=1, verbose=0)

    ours_seconds, ours_runs = median_seconds(ours, repeats)
    tf_config.disable_op_determinism()
    free_seconds, free_runs = median_seconds(
        lambda: ours(nondeterministic_step), repeats
    )
    tf.config.experimental.enable_op_determinism()
    arithmetic_seconds, arithmetic_runs = median_seconds(
        lambda: ours(arithmetic_step), repeats
    )
    input_seconds, input_runs = median_seconds(ours_with_the_loops_input, repeats)
    tuned_seconds, tuned_runs = median_seconds(ours_with_autotuning_input, repeats)
    xla_seconds, xla_runs = median_seconds(lambda: ours(xla_step), repeats)
    keras_seconds, keras_runs = median_seconds(keras_way, repeats)
    echo_rates("after")
    click.echo(
        f"{steps} steps of batch {BATCH}, median of {repeats}; network arithmetic "
        f"about {flops / 1e9:.1f} GFLOP a step"
    )
    for name, seconds, runs in (
        ("ours: tf.function step, Python loop", ours_seconds, ours_runs),
        ("ours, fed as the epoch loop feeds it", input_seconds, input_runs),
        ("ours, fed with tf.data autotuning on", tuned_seconds, tuned_runs),
        ("ours, deterministic kernels off", free_seconds, free_runs),
        ("ours, arithmetic optimiser on", arithmetic_seconds, arithmetic_runs),
        ("ours, step compiled by XLA (--jit)", xla_seconds, xla_runs),
        ("Keras: train_step under model.fit", keras_seconds, keras_runs),
    ):
        click.echo(
            f"  {name:<38} {steps / seconds:7.2f} steps/s "
            f"({flops * steps / seconds / 1e9:.0f} GFLOP/s) {[round(t, 2) for t in runs]}"
        )
    click.echo(
        f"ours / Keras steps per second: {keras_seconds / ours_seconds:.2f}x "
        f"(fed as the loop feeds it: {keras_seconds / input_seconds:.2f}x, "
        f"with autotuning on: {keras_seconds / tuned_seconds:.2f}x); "
        f"XLA / ours: {ours_seconds / xla_seconds:.2f}x; deterministic kernels / "
        f"off: {free_seconds / ours_seconds:.2f}x; arithmetic optimiser off / on: "
        f"{arithmetic_seconds / ours_seconds:.2f}x"
    )


if __name__ == "__main__":
    main()
