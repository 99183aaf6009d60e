"""Benchmark: the cost of each defence per image, against no defence.

Runs every method alone, in its own `tf.function`, on the same batch of
blurred MNIST test digits (l = 0.3, θ = 45°: the strongest setting of the
rescaled grid) and prints the median milliseconds per image over `--repeats`
runs and the ratio to `none` (C alone), in one process.

    python bench/methods_cost.py
"""

from __future__ import annotations

import os
import sys

import click

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=500, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True)
@click.option("--length", type=float, default=0.3, show_default=True)
@click.option("--angle", type=float, default=45.0, show_default=True)
def main(models_dir, batch_size, repeats, length, angle):
    from egan_tf.data import load_mnist
    from egan_tf.defenses import Method, load_defense_config, load_defense_models
    from egan_tf.methods_grid import time_methods

    models = load_defense_models(models_dir)
    config = load_defense_config(models_dir)
    methods = [m for m in Method if not models.missing_for(m)]
    images = load_mnist("test").images[:batch_size]
    costs = time_methods(models, config, methods, images, length, angle, repeats)
    baseline = costs[str(Method.NONE)]
    click.echo(
        f"{batch_size} images blurred at l = {length:g}, θ = {angle:g}°; "
        f"median of {repeats} runs; {config}"
    )
    for name, cost in costs.items():
        click.echo(
            f"{name:<14} {cost:7.3f} ms per image   {cost / baseline:5.2f}x none"
        )


if __name__ == "__main__":
    main()
