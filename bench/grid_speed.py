"""Benchmark: the batched grid against one image at a time through eager Keras.

Times the full grid (paper's 20 blur settings + clean, on N test images) as
`egan_tf.grid.evaluate_grid` runs it, and the same computation done one image
and one setting at a time through eager Keras calls (the way the paper's
protocol reads), on a sample, extrapolated to the same work. Prints both, and
the ratio, as medians over repeats.

    python bench/grid_speed.py                  # full test set, 3 repeats
    python bench/grid_speed.py --limit 2000 --repeats 1
"""

from __future__ import annotations

import statistics
import time

import click


@click.command()
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Test images for the batched grid (default: all 10,000).",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Images for the one-at-a-time way.",
)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=250, show_default=True
)
@click.option("--models", "models_dir", default="saved_models", show_default=True)
def main(limit, sample, repeats, batch_size, models_dir):
    import numpy as np

    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.grid import evaluate_grid
    from egan_tf.grid_spec import GridSpec
    from egan_tf.machine import matmul_rate
    from egan_tf.model_io import load_shipped_models

    models = load_shipped_models(models_dir, require_egan=True)
    test = load_split("test", limit=limit)
    spec = GridSpec(batch_size=batch_size)
    settings = spec.settings
    work = len(test) * len(settings)

    evaluate_grid(models, test.take(batch_size), spec, show_progress=False)
    batched = []
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_grid(models, test, spec, show_progress=False)
        batched.append(time.perf_counter() - start)

    def one_at_a_time(images, labels):
        correct = 0
        for image, label in zip(images, labels, strict=True):
            x = to_unit_interval(image[np.newaxis])
            for length, angle in settings:
                blurred = apply_motion_blur(x, length, angle)
                plain = np.argmax(models.classifier(blurred, training=False))
                restored = models.generator(
                    models.encoder(blurred, training=False), training=False
                )
                defended = np.argmax(models.classifier(restored, training=False))
                correct += int(plain == label) + int(defended == label)
        return correct

    one_at_a_time(test.images[:2], test.labels[:2])  # warm-up
    slow = []
    for _ in range(repeats):
        start = time.perf_counter()
        one_at_a_time(test.images[:sample], test.labels[:sample])
        slow.append((time.perf_counter() - start) / (sample * len(settings)) * work)

    batched_median = statistics.median(batched)
    slow_median = statistics.median(slow)
    click.echo(
        f"work: {len(test)} images x {len(settings)} settings = {work} blurred images, 4 networks"
    )
    click.echo(
        f"batched grid (one tf.function per batch): median {batched_median:.1f} s over {repeats}: {[round(t, 1) for t in batched]}"
    )
    click.echo(
        f"one image at a time, eager Keras (from {sample} images, extrapolated): median {slow_median:.0f} s"
    )
    click.echo(f"speed-up: {slow_median / batched_median:.0f}x")

    click.echo(f"fp32 matmul rate of this machine: {matmul_rate():.0f} GFLOP/s")


if __name__ == "__main__":
    main()
