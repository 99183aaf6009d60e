"""Benchmark: the exported `serving_default` against the in-memory pipeline.

Loads the shipped SavedModel the way a Python deployer would
(`tf.saved_model.load`, the `serving_default` signature) and compares it, in
the same process, with the same computation on the in-memory Keras networks
compiled by `tf.function` (`egan_tf.export.make_serving_functions`):

* latency at batch 1: median and 95th percentile over `--calls` calls;
* throughput at batch 256: images per second, median over `--repeats` runs.

Both ways take real MNIST test digits. The numbers are in-process CPU numbers:
a model server adds request decoding and network time on top.

    python bench/serving_speed.py
"""

from __future__ import annotations

import os
import statistics
import time

import click


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option("--calls", type=click.IntRange(min=10), default=200, show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=256, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=20, show_default=True)
def main(models_dir, calls, batch_size, repeats):
    import tensorflow as tf

    from egan_tf.data import load_mnist, to_unit_interval
    from egan_tf.export import Signature, input_signature, make_serving_functions
    from egan_tf.machine import matmul_rate
    from egan_tf.model_io import load_shipped_models
    from egan_tf.serving import latest_version_dir

    export_dir = latest_version_dir(os.path.join(models_dir, "egan_defense"))
    exported = tf.saved_model.load(export_dir).signatures["serving_default"]
    in_memory = tf.function(
        make_serving_functions(load_shipped_models(models_dir, require_egan=True))[
            Signature.SERVING_DEFAULT
        ],
        input_signature=input_signature(Signature.SERVING_DEFAULT),
    )
    ways = {
        "exported SavedModel": lambda images: exported(images=images),
        "in-memory tf.function": in_memory,
    }
    test = load_mnist("test")
    single = to_unit_interval(test.images[:1])
    batch = to_unit_interval(test.images[:batch_size])

    results = {}
    for name, call in ways.items():
        for images in (single, batch):  # Warm-up: trace, allocate, fill caches.
            call(images)["label"].numpy()
        latencies = []
        for _ in range(calls):
            start = time.perf_counter()
            call(single)["label"].numpy()
            latencies.append(time.perf_counter() - start)
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            call(batch)["label"].numpy()
            rates.append(batch_size / (time.perf_counter() - start))
        results[name] = (
            statistics.median(latencies) * 1000,
            _percentile(latencies, 0.95) * 1000,
            statistics.median(rates),
        )
        click.echo(
            f"{name:<22} batch 1: median {results[name][0]:.2f} ms, "
            f"p95 {results[name][1]:.2f} ms over {calls} calls; "
            f"batch {batch_size}: {results[name][2]:,.0f} images/s "
            f"(median of {repeats})"
        )
    exported_result, memory_result = results.values()
    click.echo(
        f"ratio exported / in-memory: median latency "
        f"{exported_result[0] / memory_result[0]:.2f}x, "
        f"throughput {exported_result[2] / memory_result[2]:.2f}x"
    )
    click.echo(
        f"export: {export_dir}; TensorFlow {tf.__version__}; CPU cores: {os.cpu_count()}"
    )

    click.echo(f"fp32 matmul rate of this machine: {matmul_rate():.0f} GFLOP/s")


if __name__ == "__main__":
    main()
