"""Benchmark: camera-shake paths with the walk traced as one graph loop
(`kernels.shake_trajectories`, since session 13) against the same Python
function run eagerly, step by step (how it ran before).

For `--batch-size` examples, in one process: the median time of a call of
each way after a warm-up, paths per second, the ratio, and the largest
difference between the two ways' paths. The walk is nearly all of
`shake_kernels`' time; the splat after it is a few batched ops.

    python bench/shake_kernels.py
"""

from __future__ import annotations

import statistics
import time

import click
from common import echo_rates


@click.command()
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=256, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True)
def main(batch_size, repeats):
    import numpy as np
    import tensorflow as tf

    from egan_tf import kernels

    echo_rates("before")
    seeds = kernels.example_seeds(tf.constant([3, 4]), tf.range(batch_size))
    ways = {
        "graph loop": kernels.shake_trajectories,
        "eager": kernels.shake_trajectories.python_function,
    }
    seconds, results = {}, {}
    for name, trajectories in ways.items():
        trajectories(seeds)  # Trace (graph loop) and warm up.
        for _ in range(repeats):
            began = time.perf_counter()
            results[name] = trajectories(seeds).numpy()
            seconds.setdefault(name, []).append(time.perf_counter() - began)
    click.echo(f"{batch_size} shake paths; median of {repeats} calls")
    for name in ways:
        median = statistics.median(seconds[name])
        click.echo(f"{name:<11} {median:8.3f} s {batch_size / median:10.0f} paths/s")
    ratio = statistics.median(seconds["eager"]) / statistics.median(
        seconds["graph loop"]
    )
    difference = float(np.max(np.abs(results["eager"] - results["graph loop"])))
    click.echo(
        f"eager / graph loop: {ratio:.1f}x; largest position difference {difference:.1e}"
    )
    echo_rates("after")


if __name__ == "__main__":
    main()
