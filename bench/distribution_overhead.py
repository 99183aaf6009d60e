"""Benchmark: the cost of the mirrored strategy on one CPU.

Splits this CPU into two logical devices (before any op) and runs the same
GAN train steps, global batch 128, fed as the epoch loop feeds them
(`Runtime.distributed_batches`), under `default` (one device) and under
`mirrored` (two replicas of 64, synchronised batch norm, gradients summed
across replicas), in one process. On one CPU the two replicas share the same
cores, so this measures the overhead of the distribution path that runs
unchanged on several GPUs or machines, not a speed-up. Prints steps per
second of each, the ratio, and the fp32 and bf16 matmul rates measured in
the same run.

    python bench/distribution_overhead.py
"""

from __future__ import annotations

from egan_tf.training.runtime import split_cpu

split_cpu(2)

import click  # noqa: E402
import tensorflow as tf  # noqa: E402
from common import (  # noqa: E402
    echo_rates,
    median_seconds,
    model_flops,
    paper_gan_step,
)

BATCH = 128


@click.command()
@click.option("--steps", type=click.IntRange(min=1), default=40, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
def main(steps, repeats):
    import numpy as np

    from egan_tf.data import load_split
    from egan_tf.execution import ExecutionConfig
    from egan_tf.training.runtime import Runtime

    echo_rates("before")
    arrays = load_split("train", limit=steps * BATCH)
    order = np.arange(len(arrays))
    runs, seconds = {}, {}
    for kind in ("default", "mirrored"):
        runtime = Runtime.create(ExecutionConfig(strategy=kind))
        generator, discriminator, step = paper_gan_step(runtime)

        def epoch(runtime=runtime, step=step):
            batches = runtime.distributed_batches(arrays, order, BATCH)
            for index, (images, labels, size) in enumerate(batches):
                metrics = step(images, labels, tf.constant([0, index], tf.int64), size)
            float(metrics["d_loss"])

        seconds[kind], runs[kind] = median_seconds(epoch, repeats)
        click.echo(
            f"  {kind:<9} ({runtime.num_replicas} replica(s)) "
            f"{steps / seconds[kind]:6.2f} steps/s {[round(t, 2) for t in runs[kind]]}"
        )
    echo_rates("after")
    flops = 3 * BATCH * (model_flops(generator) + 2 * model_flops(discriminator))
    click.echo(
        f"GAN steps of global batch {BATCH} (about {flops / 1e9:.1f} GFLOP each), "
        f"{steps} a run, median of {repeats}: mirrored on 2 logical CPU devices "
        f"runs at {seconds['default'] / seconds['mirrored']:.2f}x the steps per "
        "second of default"
    )


if __name__ == "__main__":
    main()
