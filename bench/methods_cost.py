"""Benchmark: the cost of each defence per image, against no defence.

Runs every method alone, in its own `tf.function`, on the same batch of MNIST
test digits, once blurred (l = 0.3, θ = 45°: the strongest setting of the
rescaled grid) and once left sharp, and prints the median milliseconds per
image over `--repeats` runs and the ratio to `none` (C alone), in one
process. The two columns differ only for `gated`, which restores just the
images its blur estimator finds blurred. When the shipped refinement refines
a blur kernel too, `egan-refine` is also timed with the formula's fixed blur
(`refine_kernel_size=0`), and the ratio of the two is printed.

    python bench/methods_cost.py
"""

from __future__ import annotations

import dataclasses

import click


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=500, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True)
@click.option("--length", type=float, default=0.3, show_default=True)
@click.option("--angle", type=float, default=45.0, show_default=True)
def main(models_dir, batch_size, repeats, length, angle):
    from egan_tf.data import load_split
    from egan_tf.defenses import Method, load_defense_config, load_defense_models
    from egan_tf.grid_spec import GridSpec
    from egan_tf.machine import matmul_rate
    from egan_tf.methods_grid import time_methods

    models = load_defense_models(models_dir)
    config = load_defense_config(models_dir)
    methods = [m for m in Method if not models.missing_for(m)]
    images = load_split("test").images[:batch_size]
    blurred = time_methods(
        models, config, methods, images, GridSpec((length,), (angle,)), repeats
    )
    sharp = time_methods(
        models, config, methods, images, GridSpec((0.0,), (0.0,)), repeats
    )
    click.echo(
        f"{batch_size} images, blurred at l = {length:g}, θ = {angle:g}° and sharp; "
        f"median of {repeats} runs; {config}"
    )
    click.echo(
        f"{'method':<14} {'blurred ms':>10} {'x none':>7} {'sharp ms':>9} {'x none':>7}"
    )
    for name in blurred:
        click.echo(
            f"{name:<14} {blurred[name]:10.3f} {blurred[name] / blurred['none']:7.2f} "
            f"{sharp[name]:9.3f} {sharp[name] / sharp['none']:7.2f}"
        )

    if config.refine_kernel_size and Method.EGAN_REFINE in methods:
        formula = dataclasses.replace(config, refine_kernel_size=0)
        fixed = time_methods(
            models, formula, [Method.NONE, Method.EGAN_REFINE], images,
            GridSpec((length,), (angle,)), repeats,
        )  # fmt: skip
        kernel_ms, fixed_ms = blurred["egan-refine"], fixed["egan-refine"]
        click.echo(
            f"egan-refine with the formula's fixed blur: {fixed_ms:.3f} ms; refining "
            f"a {config.refine_kernel_size}x{config.refine_kernel_size} kernel too "
            f"costs {kernel_ms / fixed_ms:.2f}x that"
        )
    click.echo(f"fp32 matmul rate of this machine: {matmul_rate():.0f} GFLOP/s")


if __name__ == "__main__":
    main()
