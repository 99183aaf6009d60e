"""Prints the README's Markdown tables from `evaluate --grid --methods --json` files.

    python experiments/methods_report.py saved_models/methods_scale1.json \
        saved_models/methods_scale6.json [--figure docs/methods_curves.png]
"""

from __future__ import annotations

import json

import click

# For JSONs written before they recorded `methods_info`.
EGAN_BASED = ("egan", "egan-blur", "egan-refine", "gated")


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def accuracy_table(payload: dict) -> str:
    """Rows: clean, then every grid point; columns: the methods, then the best
    EGAN-based method's margin over none (in points)."""
    methods = list(payload["clean_methods"])
    info = payload.get("methods_info")
    egan_based = [
        name
        for name in methods
        if (info[name]["uses_generator"] if info else name in EGAN_BASED)
    ]
    header = ["l", "θ", *methods]
    if egan_based and "none" in methods:
        header.append("best EGAN - none")
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]

    def row(length, angle, accuracy):
        cells = [length, angle]
        best_value = max((accuracy[name] for name in methods), default=0)
        for name in methods:
            text = _percent(accuracy[name])
            cells.append(f"**{text}**" if accuracy[name] == best_value else text)
        if egan_based and "none" in methods:
            margin = max(accuracy[name] for name in egan_based) - accuracy["none"]
            cells.append(f"{100 * margin:+.2f}")
        return "| " + " | ".join(cells) + " |"

    lines.append(row("clean", "", payload["clean_methods"]))
    for record in payload["grid"]:
        lines.append(
            row(
                f"{record['applied_length']:g}",
                f"{record['angle']:g}",
                record["methods"],
            )
        )
    return "\n".join(lines)


def estimator_table(payload: dict) -> str:
    """B's errors per applied length, averaged over the angles."""
    lines = [
        "| l | length error | angle error (°) | called blurred |",
        "| --- | --- | --- | --- |",
    ]
    clean = payload.get("clean_estimator")
    if clean:
        lines.append(
            f"| clean | {clean['length_mae']:.4f} | - | {_percent(clean['detected_fraction'])} % |"
        )
    by_length: dict[float, list[dict]] = {}
    for record in payload["grid"]:
        if record.get("estimator"):
            by_length.setdefault(record["applied_length"], []).append(
                record["estimator"]
            )
    for length, records in by_length.items():
        angles = [
            r["angle_mae_degrees"]
            for r in records
            if r["angle_mae_degrees"] is not None
        ]
        angle_text = f"{sum(angles) / len(angles):.1f}" if angles else "-"
        length_error = sum(r["length_mae"] for r in records) / len(records)
        detected = sum(r["detected_fraction"] for r in records) / len(records)
        lines.append(
            f"| {length:g} | {length_error:.4f} | {angle_text} | {_percent(detected)} % |"
        )
    return "\n".join(lines)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--figure",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also draw accuracy against blur length, one panel per file, here.",
)
def main(paths, figure):
    payloads = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
        payloads.append(payload)
        click.echo(
            f"\n{path}: {payload['blur']} blur, lengths x {payload['length_scale']:g}, "
            f"{payload['examples']} test images\n"
        )
        click.echo(accuracy_table(payload))
        click.echo("")
        click.echo(estimator_table(payload))
        if payload.get("cost_ms_per_image"):
            click.echo(
                "\ncost, ms per image: "
                + ", ".join(
                    f"{name} {cost:.2f}"
                    for name, cost in payload["cost_ms_per_image"].items()
                )
            )
    if figure:
        from egan_tf.plotting import methods_curves_figure, save_figure

        save_figure(methods_curves_figure(payloads), figure)
        click.echo(f"\nWrote {figure}")


if __name__ == "__main__":
    main()
