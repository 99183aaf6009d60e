"""The README's Tables 1 and 2 from grid JSONs of `evaluate --grid`, one or
more data sets side by side.

    python experiments/grid_tables.py saved_models/grid_scale1.json \
        saved_models/fashion_mnist/grid_scale1.json

For each JSON: a markdown table with one row per blur length l (columns
θ = 0, 15, 30, 45°): C on the blurred images (Table 1), C(G(E(·))) on them
(Table 2), both over the images C gets right when clean (the paper's
subset), and the EGAN's gain over no defence in points. Then one summary row
per JSON: clean accuracies, the EGAN's clean cost, and where the EGAN is
ahead of no defence.
"""

from __future__ import annotations

import json

import click

from egan_tf.datasets import DEFAULT_DATASET, dataset_spec


def _title(payload: dict) -> str:
    # Grids written before the data set was recorded are MNIST's.
    return dataset_spec(payload["data"].get("dataset", DEFAULT_DATASET.value)).title


def _cells(points, key):
    return " ".join(f"{100 * point[key]:.2f}" for point in points)


def _gains(points):
    return " ".join(
        f"{100 * (point['accuracy_defended'] - point['accuracy_blurred']):+.2f}"
        for point in points
    )


def grid_table(payload: dict) -> str:
    """The markdown Tables 1 and 2 of one grid JSON."""
    rows = {}
    for point in payload["grid"]:
        rows.setdefault(point["length"], []).append(point)
    scale = payload["length_scale"]
    title = _title(payload)
    subset = payload["grid"][0]["subset_examples"]
    lines = [
        f"{title}, length scale {scale:g}, over the {subset:,} of "
        f"{payload['examples']:,} images C gets right when clean:",
        "",
        f"| l (x{scale:g}) | no defence (Table 1) | EGAN (Table 2) | EGAN - no defence |",
        "| --- | --- | --- | --- |",
        f"| 0 | {100 * payload['clean_accuracy']:.2f} (all images) | "
        f"{100 * payload['egan_accuracy']:.2f} (all images) | "
        f"{100 * (payload['egan_accuracy'] - payload['clean_accuracy']):+.2f} |",
    ]
    for length, points in sorted(rows.items()):
        points = sorted(points, key=lambda point: point["angle"])
        lines.append(
            f"| {length:g} | {_cells(points, 'accuracy_blurred')} | "
            f"{_cells(points, 'accuracy_defended')} | {_gains(points)} |"
        )
    return "\n".join(lines)


def summary_row(payload: dict) -> str:
    """One markdown row: data set, scale, C and the EGAN on clean images, the
    EGAN's cost, and the points of the grid where it beats no defence."""
    grid = payload["grid"]
    ahead = [
        point
        for point in grid
        if point["accuracy_defended"] > point["accuracy_blurred"]
    ]
    best = max(
        grid, key=lambda point: point["accuracy_defended"] - point["accuracy_blurred"]
    )
    gain = 100 * (best["accuracy_defended"] - best["accuracy_blurred"])
    return (
        f"| {_title(payload)} | "
        f"{payload['length_scale']:g} | {100 * payload['clean_accuracy']:.2f} | "
        f"{100 * payload['egan_accuracy']:.2f} | "
        f"{100 * (payload['clean_accuracy'] - payload['egan_accuracy']):.2f} | "
        f"{len(ahead)}/{len(grid)} | {gain:+.2f} at l = {best['length']:g}, "
        f"θ = {best['angle']:g}° |"
    )


@click.command()
@click.argument("grid_jsons", nargs=-1, required=True, type=click.Path(exists=True))
def main(grid_jsons):
    payloads = []
    for path in grid_jsons:
        with open(path, encoding="utf-8") as handle:
            payloads.append(json.load(handle))
    for payload in payloads:
        click.echo(grid_table(payload) + "\n")
    click.echo(
        "| data set | scale | C clean % | EGAN clean % | EGAN cost, points | "
        "EGAN ahead (points of the grid) | largest EGAN gain |"
    )
    click.echo("| --- | --- | --- | --- | --- | --- | --- |")
    for payload in payloads:
        click.echo(summary_row(payload))


if __name__ == "__main__":
    main()
