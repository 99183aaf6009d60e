"""G's coverage class by class on two data sets, side by side: how much the
paper's EGAN costs C on clean test images of each class, and the
reconstruction error there, from the JSONs of a clean `evaluate`.

    python cli.py evaluate --json saved_models/egan_clean.json
    python cli.py evaluate --dataset fashion_mnist \
        --json saved_models/fashion_mnist/egan_clean.json
    python experiments/coverage_report.py saved_models/egan_clean.json \
        saved_models/fashion_mnist/egan_clean.json

Prints one markdown table per JSON (classes by name, worst cost first) and a
summary row per data set.
"""

from __future__ import annotations

import json

import click

from egan_tf.datasets import dataset_spec

# Issue 15's target: the EGAN loses at most this many points against C on
# clean images; the summary counts the classes beyond it.
COST_TARGET_POINTS = 4.0


def class_rows(payload: dict) -> list[dict]:
    """One row per class: its name, images, C(x) and C(G(E(x))) in %, the
    cost in points (positive: the EGAN loses) and the reconstruction MSE."""
    names = dataset_spec(payload["data"]["dataset"]).class_names
    rows = [
        {
            "class": names[record["label"]],
            "images": record["examples"],
            "plain": 100 * record["plain_accuracy"],
            "defended": 100 * record["defended_accuracy"],
            "cost": 100 * (record["plain_accuracy"] - record["defended_accuracy"]),
            "mse": record["reconstruction_mse"],
        }
        for record in payload["per_class"]
    ]
    return sorted(rows, key=lambda row: -row["cost"])


def summary(payload: dict) -> dict:
    """The whole test set's figures and how the cost spreads over classes."""
    rows = class_rows(payload)
    costs = [row["cost"] for row in rows]
    return {
        "data set": dataset_spec(payload["data"]["dataset"]).title,
        "images": payload["examples"],
        "plain": 100 * payload["clean_accuracy"],
        "defended": 100 * payload["egan_accuracy"],
        "cost": 100 * (payload["clean_accuracy"] - payload["egan_accuracy"]),
        "mse": payload["reconstruction_mse"],
        "worst": f"{rows[0]['class']} ({costs[0]:.2f})",
        "classes beyond the target": sum(cost > COST_TARGET_POINTS for cost in costs),
    }


def markdown(rows: list[dict]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for row in rows:
        cells = []
        for key in keys:
            value = row[key]
            if key == "mse":
                cells.append(f"{value:.4f}")
            elif isinstance(value, float):
                cells.append(f"{value:.2f}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
def main(paths):
    payloads = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            payloads.append(json.load(handle))
    for path, payload in zip(paths, payloads, strict=True):
        click.echo(f"\n**{path}**\n")
        click.echo(markdown(class_rows(payload)))
    click.echo("\n" + markdown([summary(payload) for payload in payloads]))


if __name__ == "__main__":
    main()
