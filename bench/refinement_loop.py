"""Benchmark: the latent refinement as one `tf.while_loop` against the same
Adam steps unrolled by a Python loop (how it was built before session 12).

For the shipped G and E_blur on blurred MNIST test digits, in one process,
each way is traced afresh `--repeats` times: the graph's node count, the
median time to trace and run it once, and the median time of a later call.
The tracing time is what `export` and every new `tf.function` pay per
defence signature; the later call is what serving pays per batch.

    python bench/refinement_loop.py
"""

from __future__ import annotations

import statistics
import time

import click
from common import echo_rates


def _unrolled(generator, start, images, length, angle, steps, learning_rate, klr, size):
    """The refinement with its steps unrolled, as it was built before."""
    import tensorflow as tf

    from egan_tf.defenses import refinement

    values = [start, refinement._start_log_kernels(length, angle, size)]
    moments = [(tf.zeros_like(value), tf.zeros_like(value)) for value in values]
    loss_of = refinement._kernel_loss(generator, images)
    for step in range(1, steps + 1):
        with tf.GradientTape() as tape:
            tape.watch(values)
            loss = loss_of(values)
        gradients = tape.gradient(loss, values)
        updates = [
            refinement._adam_update(
                value, gradient, moment, step, rate, refinement.LATENT_ADAM
            )
            for value, gradient, moment, rate in zip(
                values, gradients, moments, (learning_rate, klr), strict=True
            )
        ]
        values = [value for value, _ in updates]
        moments = [moment for _, moment in updates]
    return values[0]


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=256, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
def main(models_dir, batch_size, repeats):
    import numpy as np
    import tensorflow as tf

    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import load_split
    from egan_tf.defenses import load_defense_config, load_defense_models
    from egan_tf.defenses.refinement import refine_latent

    echo_rates("before")
    models = load_defense_models(models_dir)
    config = load_defense_config(models_dir)
    size = config.refine_kernel_size or 15
    images = load_split("test").images[:batch_size].astype(np.float32) / 255.0
    rng = np.random.default_rng(0)
    length = tf.constant(rng.uniform(0.05, 0.3, batch_size), tf.float32)
    angle = tf.constant(rng.uniform(0, 180, batch_size), tf.float32)
    blurred = apply_motion_blur(tf.constant(images), length, angle)
    start = models.encoder_blur(blurred, training=False)
    arguments = (
        models.generator, start, blurred, length, angle, config.refine_steps,
        config.refine_learning_rate, config.refine_kernel_learning_rate, size,
    )  # fmt: skip
    ways = {"while_loop": refine_latent, "unrolled": _unrolled}
    first, later, nodes, results = {}, {}, {}, {}
    for _ in range(repeats):
        for name, refine in ways.items():
            function = tf.function(lambda refine=refine: refine(*arguments))
            began = time.perf_counter()
            results[name] = function().numpy()
            first.setdefault(name, []).append(time.perf_counter() - began)
            nodes[name] = len(
                function.get_concrete_function().graph.as_graph_def().node
            )
            began = time.perf_counter()
            function()
            later.setdefault(name, []).append(time.perf_counter() - began)
    click.echo(
        f"{batch_size} blurred digits, {config.refine_steps} steps, kernel {size}; "
        f"median of {repeats}"
    )
    click.echo(
        f"{'way':<11} {'graph nodes':>11} {'trace+call s':>12} {'later call s':>12}"
    )
    for name in ways:
        click.echo(
            f"{name:<11} {nodes[name]:11d} {statistics.median(first[name]):12.2f} "
            f"{statistics.median(later[name]):12.2f}"
        )
    ratio = statistics.median(first["unrolled"]) / statistics.median(
        first["while_loop"]
    )
    steady = statistics.median(later["unrolled"]) / statistics.median(
        later["while_loop"]
    )
    difference = float(np.max(np.abs(results["unrolled"] - results["while_loop"])))
    click.echo(
        f"unrolled / while_loop: trace+call {ratio:.2f}x, later call {steady:.2f}x; "
        f"largest latent difference {difference:.2e}"
    )
    echo_rates("after")


if __name__ == "__main__":
    main()
