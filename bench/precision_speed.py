"""Benchmark: the paper's grid in float32, bfloat16 and under XLA.

Runs `evaluate_grid` (the paper's 20 blur settings and the clean images, C on
the blurred image and C(G(E(.))) on it) on the same test images with the
shipped networks as float32, as bfloat16 (`--precision bfloat16`: batch norm
folded, mixed_bfloat16), as float32 with batch norm folded (to separate the
two effects), and each under XLA (`jit_compile=True`), in one process. Prints
the median wall time of each, its ratio to float32, the network arithmetic
per second as a fraction of the fp32 and bf16 matmul rates measured in the
same run, and the largest difference of any grid cell from float32.

    python bench/precision_speed.py                       # 2,000 images, 3 runs
    python bench/precision_speed.py --limit 10000 --repeats 1
"""

from __future__ import annotations

import click
from common import echo_rates, median_seconds, model_flops


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option("--xla/--no-xla", default=True, show_default=True)
def main(limit, repeats, models_dir, xla):
    from egan_tf.batch_norm_folding import fold_batch_norm
    from egan_tf.data import load_split
    from egan_tf.grid import evaluate_grid
    from egan_tf.grid_spec import PAPER_GRID
    from egan_tf.model_io import ShippedModels, load_shipped_models
    from egan_tf.precision import Precision, inference_models

    before = echo_rates("before")
    shipped = load_shipped_models(models_dir, require_egan=True)
    test = load_split("test", limit=limit)
    settings = len(PAPER_GRID.settings)
    flops_per_image = (
        2 * model_flops(shipped.classifier)
        + model_flops(shipped.encoder)
        + model_flops(shipped.generator)
    )
    work = len(test) * settings * flops_per_image
    folded = ShippedModels(
        *(fold_batch_norm(model) for model in (shipped.classifier, shipped.generator,
                                               shipped.encoder))
    )  # fmt: skip
    variants = {
        "float32": (inference_models(shipped, Precision.FLOAT32), False),
        "float32, batch norm folded": (folded, False),
        "bfloat16": (inference_models(shipped, Precision.BFLOAT16), False),
    }
    if xla:
        variants["float32 + XLA"] = (variants["float32"][0], True)
        variants["bfloat16 + XLA"] = (variants["bfloat16"][0], True)
    click.echo(
        f"{len(test)} images x {settings} settings, network arithmetic "
        f"{flops_per_image / 1e6:.1f} MFLOP per blurred image (C twice, E, G): "
        f"{work / 1e9:.0f} GFLOP a grid; median of {repeats}"
    )
    results, times = {}, {}
    for name, (models, jit) in variants.items():

        def run(name=name, models=models, jit=jit):
            results[name] = evaluate_grid(
                models, test, PAPER_GRID, False, jit_compile=jit
            )

        times[name], runs = median_seconds(run, repeats)
        click.echo(f"  {name:<28} {times[name]:7.2f} s  {[round(t, 2) for t in runs]}")
    after = echo_rates("after")
    fp32_rate = (before.float32 + after.float32) / 2
    bf16_rate = (before.bfloat16 + after.bfloat16) / 2
    reference = results["float32"]
    click.echo(
        f"{'variant':<28} {'s':>7} {'x fp32':>7} {'GFLOP/s':>8} "
        f"{'/fp32 rate':>10} {'/bf16 rate':>10} {'max cell diff':>14}"
    )
    for name, seconds in times.items():
        rate = work / seconds / 1e9
        difference = max(
            abs(getattr(a, key) - getattr(b, key)) * 100
            for a, b in zip(reference.grid, results[name].grid, strict=True)
            for key in (
                "accuracy_blurred_all",
                "accuracy_defended_all",
                "accuracy_blurred",
                "accuracy_defended",
            )
        )
        click.echo(
            f"{name:<28} {seconds:7.2f} {times['float32'] / seconds:7.2f} "
            f"{rate:8.0f} {rate / fp32_rate:10.2f} {rate / bf16_rate:10.2f} "
            f"{difference:11.2f} pt"
        )


if __name__ == "__main__":
    main()
