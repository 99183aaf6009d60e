"""Issue 12's report: every blur family at both noise levels, from the methods
JSONs that `experiments/family_grids.sh` writes.

Prints the README's tables (accuracy per strength, averaged over the angles;
the ranking of the methods; the targets, each measured) and draws the figure.

    python experiments/family_report.py saved_models/methods_*_noise*.json \
        --figure docs/family_curves.png
"""

from __future__ import annotations

import json

import click

# The points where the out-of-distribution target applies: at least the
# paper's l = 0.03 times the grid's length scale (0.18 for MNIST's scale 6,
# 0.09 for Fashion-MNIST's scale 3).
OOD_MIN_PAPER_LENGTH = 0.03
OOD_FAMILIES = ("spatial", "trail")
# Methods that need the true blur: bounds, not defences.
ORACLES = ("wiener-oracle",)
# How far below `none` the shipped `gated` may be at any point, in accuracy.
GATED_TOLERANCE = 0.0005


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def _label(payload: dict) -> str:
    return f"{payload['blur']}, \N{GREEK SMALL LETTER SIGMA} = {payload['noise']:g}"


def _points(payload: dict) -> list[dict]:
    """The clean row and every grid point as {"length", "angle", "methods",
    "paired"} records."""
    clean = {
        "length": 0.0,
        "angle": 0.0,
        "methods": payload["clean_methods"],
        "paired": payload.get("clean_paired", {}),
    }
    return [clean] + [
        {
            "length": record["applied_length"],
            "angle": record["angle"],
            "methods": record["methods"],
            "paired": record.get("paired", {}),
        }
        for record in payload["grid"]
    ]


def _uses_generator(payload: dict, method: str) -> bool:
    return payload["methods_info"][method]["uses_generator"]


def strength_table(payload: dict) -> str:
    """Rows: clean, then each strength (mean over the angles); columns: the
    methods. Bold: the best method that needs no oracle."""
    methods = list(payload["clean_methods"])
    lines = [
        "| strength | " + " | ".join(methods) + " |",
        "| --- | " + " | ".join("---" for _ in methods) + " |",
    ]
    by_length: dict[float, list[dict]] = {}
    for point in _points(payload):
        by_length.setdefault(round(point["length"], 6), []).append(point["methods"])
    for length, rows in by_length.items():
        means = {m: sum(row[m] for row in rows) / len(rows) for m in methods}
        best = max(value for m, value in means.items() if m not in ORACLES)
        cells = [
            f"**{_percent(means[m])}**" if means[m] == best else _percent(means[m])
            for m in methods
        ]
        name = "clean" if length == 0 else f"{length:.3g}"
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _grid_means(payload: dict) -> dict[str, float]:
    """Each method's mean accuracy over the grid's points, clean row included."""
    points = _points(payload)
    return {
        method: sum(point["methods"][method] for point in points) / len(points)
        for method in payload["clean_methods"]
    }


def grid_means_table(payloads: list[dict]) -> str:
    """Rows: the grids; columns: each method's mean accuracy over the grid's
    points (clean row included). Bold: the best method needing no oracle."""
    methods = list(payloads[0]["clean_methods"])
    lines = [
        "| grid | images | " + " | ".join(methods) + " |",
        "| --- | --- | " + " | ".join("---" for _ in methods) + " |",
    ]
    for payload in payloads:
        means = _grid_means(payload)
        best = max(value for m, value in means.items() if m not in ORACLES)
        cells = [
            f"**{_percent(means[m])}**" if means[m] == best else _percent(means[m])
            for m in methods
        ]
        lines.append(
            f"| {_label(payload)} | {payload['examples']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def ranking(payloads: list[dict]) -> list[tuple[str, float]]:
    """Each method's mean accuracy over all points of a grid, then over the
    grids (each family and noise level weighs the same), best first."""
    methods = [m for m in payloads[0]["clean_methods"] if m not in ORACLES]
    per_grid = [_grid_means(payload) for payload in payloads]
    means = {
        method: sum(grid[method] for grid in per_grid) / len(per_grid)
        for method in methods
    }
    return sorted(means.items(), key=lambda item: -item[1])


def paired_check(payloads: list[dict], pair: str, counted) -> list[str]:
    """Per grid: the worst paired difference `pair` ("candidate - baseline")
    over all points with its 95 % interval, and how many points' records
    satisfy `counted` (a predicate on {"difference", "low", "high"})."""
    lines = []
    candidate, baseline = pair.split(" - ")
    for payload in payloads:
        points = _points(payload)
        if all(pair in point["paired"] for point in points):
            records = [(point, point["paired"][pair]) for point in points]
        else:
            # JSONs written before the paired records: the difference of the
            # accuracies, without an interval.
            records = [
                (
                    point,
                    {
                        "difference": point["methods"][candidate]
                        - point["methods"][baseline],
                        "low": float("nan"),
                        "high": float("nan"),
                    },
                )
                for point in points
            ]
        point, record = min(records, key=lambda item: item[1]["difference"])
        lines.append(
            f"| {_label(payload)} | {100 * record['difference']:+.2f} "
            f"[{100 * record['low']:+.2f}, {100 * record['high']:+.2f}] "
            f"at l = {point['length']:.3g}, θ = {point['angle']:g} | "
            f"{sum(bool(counted(r)) for _, r in records)} |"
        )
    return lines


def ood_check(payloads: list[dict]) -> list[str]:
    """Per out-of-distribution grid: the smallest margin of the best
    EGAN-based method over the best method without G at strong points."""
    lines = []
    for payload in payloads:
        if payload["blur"] not in OOD_FAMILIES:
            continue
        margins = []
        min_length = OOD_MIN_PAPER_LENGTH * payload["length_scale"] - 1e-9
        for point in _points(payload)[1:]:
            if point["length"] < min_length:
                continue
            accuracy = point["methods"]
            egan = max(
                (v, m) for m, v in accuracy.items() if _uses_generator(payload, m)
            )
            other = max(
                (v, m)
                for m, v in accuracy.items()
                if not _uses_generator(payload, m) and m not in ORACLES
            )
            margins.append((egan[0] - other[0], point, egan[1], other[1]))
        margin, point, egan_name, other_name = min(margins, key=lambda item: item[0])
        lines.append(
            f"| {_label(payload)} | {100 * margin:+.2f} at l = {point['length']:.3g}, "
            f"θ = {point['angle']:g} ({egan_name} vs {other_name}) | "
            f"{sum(m < -0.005 for m, *_ in margins)} of {len(margins)} |"
        )
    return lines


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--figure", type=click.Path(dir_okay=False), default=None)
def main(paths, figure):
    payloads = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            payloads.append(json.load(handle))
    order = ("fourier", "spatial", "trail", "shake")
    payloads.sort(key=lambda p: (order.index(p["blur"]), p["noise"]))
    for payload in payloads:
        click.echo(f"\n**{_label(payload)}** ({payload['examples']} test images)\n")
        click.echo(strength_table(payload))
    click.echo("\n" + grid_means_table(payloads))
    click.echo("\n| method | mean accuracy % |\n| --- | --- |")
    for method, mean in ranking(payloads):
        click.echo(f"| {method} | {_percent(mean)} |")
    click.echo(
        "\n| grid | worst gated - none (points, 95 % interval) | points below by > 0.05 |"
    )
    click.echo("| --- | --- | --- |")
    click.echo(
        "\n".join(
            paired_check(
                payloads, "gated - none", lambda r: r["difference"] < -GATED_TOLERANCE
            )
        )
    )
    click.echo(
        "\n| grid | worst egan-refine - egan-blur (95 % interval) | points below beyond the interval |"
    )
    click.echo("| --- | --- | --- |")
    click.echo(
        "\n".join(
            paired_check(payloads, "egan-refine - egan-blur", lambda r: r["high"] < 0)
        )
    )
    click.echo(
        "\n| grid | smallest best-EGAN - best-other (paper's l ≥ 0.03, rescaled) | points behind by > 0.5 |"
    )
    click.echo("| --- | --- | --- |")
    click.echo("\n".join(ood_check(payloads)))
    click.echo(
        "\nwiener-oracle mean accuracy: "
        + ", ".join(
            f"{_label(p)} {_percent(_grid_means(p)['wiener-oracle'])}" for p in payloads
        )
    )
    if figure:
        from egan_tf.plotting import family_curves_figure, save_figure

        save_figure(family_curves_figure(payloads), figure)
        click.echo(f"\nWrote {figure}")


if __name__ == "__main__":
    main()
