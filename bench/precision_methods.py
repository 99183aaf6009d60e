"""Benchmark: every defence in float32 and in bfloat16, and the refinement's
steps per second.

Runs each method alone in its own `tf.function` (as bench/methods_cost.py
does) on the same batch of test digits blurred at l = 0.3, θ = 45°, once with
the shipped networks in float32 and once in bfloat16 (`--precision
bfloat16`), in one process; prints images per second of each, the ratio, and
the latent refinement's Adam steps per second over the batch (its 20 steps a
batch are most of `egan-refine`'s cost). Prints the fp32 and bf16 matmul
rates measured in the same run.

    python bench/precision_methods.py
"""

from __future__ import annotations

import click
from common import echo_rates


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=500, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
def main(models_dir, batch_size, repeats):
    from egan_tf.data import load_split
    from egan_tf.defenses import Method, load_defense_config, load_defense_models
    from egan_tf.grid_spec import GridSpec
    from egan_tf.methods_grid import time_methods
    from egan_tf.precision import Precision, inference_models

    echo_rates("before")
    shipped = load_defense_models(models_dir)
    config = load_defense_config(models_dir)
    methods = [m for m in Method if not shipped.missing_for(m, config.gated_restorer)]
    images = load_split("test").images[:batch_size]
    spec = GridSpec((0.3,), (45.0,))
    costs = {
        precision: time_methods(
            inference_models(shipped, precision), config, methods, images, spec, repeats
        )
        for precision in (Precision.FLOAT32, Precision.BFLOAT16)
    }
    echo_rates("after")
    click.echo(
        f"{batch_size} digits blurred at l = 0.3, θ = 45°, median of {repeats}; "
        "images per second"
    )
    click.echo(f"{'method':<16} {'float32':>9} {'bfloat16':>9} {'x':>6}")
    for method in costs[Precision.FLOAT32]:
        single = 1000 / costs[Precision.FLOAT32][method]
        half = 1000 / costs[Precision.BFLOAT16][method]
        click.echo(f"{method:<16} {single:9.0f} {half:9.0f} {half / single:6.2f}")
    if Method.EGAN_REFINE in methods:
        steps = config.refine_steps
        for precision, cost in costs.items():
            # One Adam step of the refinement updates the whole batch.
            seconds = cost["egan-refine"] * batch_size / 1000
            click.echo(
                f"refinement, {precision}: {steps / seconds:.1f} steps/s on a batch "
                f"of {batch_size} ({steps} steps, kernel "
                f"{config.refine_kernel_size}x{config.refine_kernel_size}; "
                "E, C and the blur included)"
            )


if __name__ == "__main__":
    main()
