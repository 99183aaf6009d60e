"""Benchmark: the evaluation loops' batched runner with tf.data autotuning off
(as shipped since session 9) against the same pipeline with it on.

Each call of `egan_tf.batching.run_batched` builds a `tf.data` pipeline and
deletes its iterator at the end. With autotuning on, that deletion stalled for
seconds in some calls. Both ways map the shipped classifier C over the 10,000
MNIST test images in batches of 250, alternating call by call so that both
see the same machine. Prints the median and the slowest call of each, their
ratio, and the fp32 and bf16 matmul rates measured in the same run.

    python bench/batched_input.py
"""

from __future__ import annotations

import statistics
import time

import click
from common import echo_rates, model_flops


@click.command()
@click.option("--calls", type=click.IntRange(min=1), default=15, show_default=True)
def main(calls):
    import numpy as np
    import tensorflow as tf

    from egan_tf.batching import PREFETCH_BATCHES, run_batched
    from egan_tf.config import ClassifierConfig
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.networks import build_classifier

    echo_rates("before")
    images = to_unit_interval(load_split("test").images).numpy()
    classifier = build_classifier(ClassifierConfig())
    classify = tf.function(lambda batch: classifier(batch, training=False))
    autotuning = tf.data.Options()
    autotuning.autotune.enabled = True

    def with_autotuning():
        # run_batched's pipeline as it was: the same batches, autotuning on.
        batches = (
            tf.data.Dataset.from_tensor_slices(images)
            .batch(250)
            .prefetch(tf.data.AUTOTUNE)
            .with_options(autotuning)
        )
        return np.concatenate([np.asarray(classify(batch)) for batch in batches])

    ways = {
        "run_batched, autotuning off": lambda: run_batched(classify, images, 250),
        "the same pipeline, autotuning on": with_autotuning,
    }
    for way in ways.values():
        way()
    seconds = {name: [] for name in ways}
    for _ in range(calls):
        for name, way in ways.items():
            start = time.perf_counter()
            way()
            seconds[name].append(time.perf_counter() - start)
    echo_rates("after")
    flops = len(images) * model_flops(classifier)
    click.echo(
        f"C over {len(images)} images in batches of 250 (prefetch "
        f"{PREFETCH_BATCHES} when off), {calls} calls each, about "
        f"{flops / 1e9:.1f} GFLOP a call"
    )
    for name, runs in seconds.items():
        click.echo(
            f"  {name:<34} median {statistics.median(runs):.3f} s, slowest "
            f"{max(runs):.3f} s, mean {statistics.mean(runs):.3f} s"
        )
    off, on = (seconds[name] for name in ways)
    click.echo(
        f"autotuning on / off: median {statistics.median(on) / statistics.median(off):.2f}x, "
        f"mean {statistics.mean(on) / statistics.mean(off):.2f}x"
    )


if __name__ == "__main__":
    main()
