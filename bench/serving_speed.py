"""Benchmark: exported signatures against the in-memory pipeline, and what a
sharp image costs through `defend_gated` against `classify`.

Loads the shipped SavedModel the way a Python deployer would
(`tf.saved_model.load`, its signatures) and compares each signature, in the
same process, with the same computation on the in-memory Keras networks
compiled by `tf.function` (`egan_tf.export.make_serving_functions`):

* latency at batch 1: median and 95th percentile over `--calls` calls;
* throughput at batch 256: images per second, median over `--repeats` runs;

each on sharp MNIST test digits and on the same digits blurred at the
rescaled grid's strongest setting (l = 0.3, θ = 45°, the Fourier model),
where `defend_gated` restores nearly every image. The numbers are in-process
CPU numbers: a model server adds request decoding and network time on top.

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


def _measure(call, single, batch, calls: int, repeats: int) -> tuple[float, ...]:
    """(median ms, p95 ms) at batch 1 and the median images/s at `batch`."""
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
        rates.append(len(batch) / (time.perf_counter() - start))
    return (
        statistics.median(latencies) * 1000,
        _percentile(latencies, 0.95) * 1000,
        statistics.median(rates),
    )


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option(
    "--signatures",
    default="serving_default,classify,defend_gated",
    show_default=True,
    help="Comma-separated signatures to time.",
)
@click.option("--calls", type=click.IntRange(min=10), default=100, show_default=True)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=256, show_default=True
)
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True)
@click.option(
    "--record/--no-record",
    default=False,
    help="Also write the figures into export.json, under the timed version.",
)
def main(models_dir, signatures, calls, batch_size, repeats, record):
    import tensorflow as tf

    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.export import (
        Signature,
        input_signature,
        load_export_models,
        make_serving_functions,
    )
    from egan_tf.machine import matmul_rate
    from egan_tf.serving import latest_version_dir

    rate_before = matmul_rate()
    export_dir = latest_version_dir(os.path.join(models_dir, "egan_defense"))
    loaded = tf.saved_model.load(export_dir).signatures
    functions = make_serving_functions(*load_export_models(models_dir))
    sharp = to_unit_interval(load_split("test").images[:batch_size])
    inputs = {"sharp": sharp, "blurred": apply_motion_blur(sharp, 0.3, 45.0)}

    results = {}
    for name in [Signature(name.strip()) for name in signatures.split(",")]:
        ways = {
            "exported": lambda images, name=name: loaded[str(name)](images=images),
            "in-memory": tf.function(
                functions[name], input_signature=input_signature(name)
            ),
        }
        for content, batch in inputs.items():
            for way, call in ways.items():
                result = _measure(call, batch[:1], batch, calls, repeats)
                results[name, content, way] = result
                click.echo(
                    f"{name:<16} {content:<8} {way:<10} batch 1: median "
                    f"{result[0]:8.2f} ms, p95 {result[1]:8.2f} ms; batch "
                    f"{batch_size}: {result[2]:9,.0f} images/s"
                )
    click.echo(
        "ratios, exported / in-memory (latency: above 1 is slower; throughput: below 1 is slower):"
    )
    for (name, content, way), result in results.items():
        if way == "exported":
            memory = results[name, content, "in-memory"]
            click.echo(
                f"  {name:<16} {content:<8} latency {result[0] / memory[0]:.2f}x, "
                f"throughput {result[2] / memory[2]:.2f}x"
            )
    gated, classify = Signature.DEFEND_GATED, Signature.CLASSIFY
    if (gated, "sharp", "exported") in results and (
        classify,
        "sharp",
        "exported",
    ) in results:
        for way in ("exported", "in-memory"):
            mine, base = results[gated, "sharp", way], results[classify, "sharp", way]
            click.echo(
                f"defend_gated / classify on sharp digits, {way}: batch-1 latency "
                f"{mine[0] / base[0]:.2f}x, cost per image at batch {batch_size} "
                f"{base[2] / mine[2]:.2f}x"
            )
    click.echo(
        f"export: {export_dir}; TensorFlow {tf.__version__}; CPU cores: {os.cpu_count()}"
    )
    rate_after = matmul_rate()
    click.echo(
        f"fp32 matmul rate of this machine: {rate_before:.0f} GFLOP/s before, "
        f"{rate_after:.0f} after"
    )
    if record:
        _record(
            export_dir, results, calls, batch_size, repeats, rate_before, rate_after
        )


def _record(export_dir, results, calls, batch_size, repeats, rate_before, rate_after):
    """Writes the figures into the timed version's entry of export.json."""
    import json

    from egan_tf.atomic_files import write_json_atomically
    from egan_tf.export import EXPORT_CARD_FILE

    card_path = os.path.join(os.path.dirname(export_dir), EXPORT_CARD_FILE)
    with open(card_path, encoding="utf-8") as handle:
        card = json.load(handle)
    version = int(os.path.basename(export_dir))
    figures = {
        f"{name}/{content}/{way}": {
            "batch_1_median_ms": round(result[0], 3),
            "batch_1_p95_ms": round(result[1], 3),
            f"batch_{batch_size}_images_per_second": round(result[2], 1),
        }
        for (name, content, way), result in results.items()
    }
    for entry in card["versions"]:
        if entry["version"] == version:
            entry["serving_speed"] = {
                "bench": "bench/serving_speed.py",
                "calls": calls,
                "repeats": repeats,
                "fp32_matmul_gflops_before_after": [
                    round(rate_before, 1),
                    round(rate_after, 1),
                ],
                "figures": figures,
            }
    write_json_atomically(card_path, card)
    click.echo(f"Recorded in {card_path}")


if __name__ == "__main__":
    main()
