"""Matplotlib figures. Each function takes data or records and returns a Figure;
`save_figure` writes it atomically."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # Figures are written to files; no screen is needed.

import matplotlib.pyplot as plt
import numpy as np

from egan_tf.atomic_files import atomic_path
from egan_tf.datasets import DEFAULT_DATASET, dataset_spec


def save_figure(figure, path: str) -> None:
    """Writes a figure as PNG atomically and closes it."""
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(figure)


def image_rows_figure(
    rows: Sequence[np.ndarray],
    row_titles: Sequence[str],
    title: str | None = None,
    captions: Sequence[Sequence[tuple[str, str]] | None] | None = None,
):
    """Shows several rows of images, one row per stage (clean, blurred, ...).

    Args:
        rows: Arrays [count, 28, 28, 1] or [count, 28, 28] in [0, 1], one per row,
            all with the same count.
        row_titles: Label written left of each row.
        title: Figure title.
        captions: Per row, None or one (text, colour) per image, written
            above it (e.g. the predicted class name, green when right).
    """
    count = rows[0].shape[0]
    figure, axes = plt.subplots(
        len(rows),
        count,
        figsize=(0.9 * count + 1.2, 0.95 * len(rows) + 0.4),
        squeeze=False,
    )
    for row_index, (images, row_title) in enumerate(zip(rows, row_titles, strict=True)):
        for column in range(count):
            axis = axes[row_index, column]
            axis.imshow(np.squeeze(images[column]), cmap="gray", vmin=0.0, vmax=1.0)
            if captions is not None and captions[row_index] is not None:
                text, colour = captions[row_index][column]
                # Class names ("Ankle boot") must fit above a 0.9-inch image.
                size = 8 if len(text) <= 3 else 5.5
                axis.set_title(text, fontsize=size, color=colour, pad=2)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row_index, 0].set_ylabel(
            row_title, rotation=0, ha="right", va="center", fontsize=9
        )
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def generator_samples_figure(generator, count: int = 100, seed: int = 0):
    """A square grid of G(z) for z drawn from N(0, 1) with `seed`."""
    latent_dim = generator.input_shape[-1]
    latents = np.random.default_rng(seed).standard_normal((count, latent_dim))
    images = np.asarray(generator(latents.astype("float32"), training=False))
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    figure, axes = plt.subplots(
        rows, columns, figsize=(columns * 0.6, rows * 0.6), squeeze=False
    )
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            axis.imshow(images[index, ..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    figure.suptitle(f"{count} samples G(z), z ~ N(0, I), seed {seed}", fontsize=9)
    figure.tight_layout()
    return figure


def grid_heatmaps_figure(result):
    """Heatmaps of Table 1, Table 2 and their difference (rows l, columns θ).

    Args:
        result: An `egan_tf.grid.GridResult`.
    """
    lengths, angles = result.lengths, result.angles

    def matrix(value):
        return np.array(
            [
                [value(result.point(length, angle)) for angle in angles]
                for length in lengths
            ]
        )

    blurred = matrix(lambda point: point.accuracy_blurred) * 100
    defended = matrix(lambda point: point.accuracy_defended) * 100
    panels = [
        ("Table 1: C(blur(x)) %", blurred, "viridis", None),
        ("Table 2: C(G(E(blur(x)))) %", defended, "viridis", None),
        ("Difference (points)", defended - blurred, "RdBu", "centred"),
    ]
    low = min(blurred.min(), defended.min())
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.2 + 0.25 * len(lengths)))
    for axis, (title, values, colours, mode) in zip(axes, panels, strict=True):
        if mode == "centred":
            limit = max(abs(values).max(), 0.5)
            image = axis.imshow(
                values, cmap=colours, vmin=-limit, vmax=limit, aspect="auto"
            )
        else:
            image = axis.imshow(values, cmap=colours, vmin=low, vmax=100, aspect="auto")
        for row in range(values.shape[0]):
            for column in range(values.shape[1]):
                axis.text(
                    column,
                    row,
                    f"{values[row, column]:.1f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if mode == "centred" else "white",
                )
        axis.set_xticks(range(len(angles)), [f"{angle:g}°" for angle in angles])
        axis.set_yticks(range(len(lengths)), [f"{length:g}" for length in lengths])
        axis.set_xlabel("θ")
        axis.set_ylabel("l")
        axis.set_title(title, fontsize=10)
        figure.colorbar(image, ax=axis, fraction=0.046)
    scale = "" if result.length_scale == 1 else f", lengths x {result.length_scale:g}"
    dataset = dataset_spec((result.data or {}).get("dataset", DEFAULT_DATASET))
    figure.suptitle(
        f"{result.examples} {dataset.title} test images{scale}", fontsize=10
    )
    figure.tight_layout()
    return figure


# Line styles that stay apart in print: the EGAN family solid, the rest dashed.
_METHOD_STYLES = {
    "none": ("black", "-", "o"),
    "egan": ("tab:gray", "-", "v"),
    "egan-blur": ("tab:blue", "-", "s"),
    "egan-refine": ("tab:cyan", "-", "D"),
    "gated": ("tab:red", "-", "*"),
    "wiener": ("tab:olive", "--", "x"),
    "wiener-oracle": ("tab:brown", ":", "+"),
    "augment": ("tab:green", "--", "^"),
    "augment-mixture": ("tab:pink", "--", "v"),
    "hybrid": ("tab:purple", "-", "P"),
}


def _draw_method_curves(axes, payload: dict) -> None:
    """One line per method of a methods grid on each of `axes`: the mean over
    the grid's angles against the applied length, the band from the worst to
    the best angle, the clean row at l = 0."""
    lengths = sorted({record["applied_length"] for record in payload["grid"]})
    x = [0.0, *lengths]
    for method, clean in payload["clean_methods"].items():
        rows = [
            [
                100 * record["methods"][method]
                for record in payload["grid"]
                if record["applied_length"] == length
            ]
            for length in lengths
        ]
        mean = [100 * clean] + [float(np.mean(row)) for row in rows]
        low = [100 * clean] + [min(row) for row in rows]
        high = [100 * clean] + [max(row) for row in rows]
        colour, line, marker = _METHOD_STYLES.get(method, ("tab:purple", "-", "."))
        for axis in axes:
            axis.plot(x, mean, line, color=colour, marker=marker, label=method)
            axis.fill_between(x, low, high, color=colour, alpha=0.12, linewidth=0)


def family_curves_figure(payloads: Sequence[dict], floor: float = 70.0):
    """Accuracy against blur strength for every blur family and noise level:
    one row per noise level, one column per family, one line per method (as
    in `methods_curves_figure`), accuracy from `floor` % up.

    Args:
        payloads: Methods grids as `evaluate --grid --methods --json` writes
            them, each with its `blur` and `noise`.
        floor: Lower end of the accuracy axis, in %; a method below it (C on
            strong blur) leaves the panel.
    """
    families = list(dict.fromkeys(payload["blur"] for payload in payloads))
    noises = sorted({payload.get("noise", 0.0) for payload in payloads})
    figure, axes = plt.subplots(
        len(noises),
        len(families),
        figsize=(4.6 * len(families), 3.9 * len(noises)),
        squeeze=False,
    )
    for payload in payloads:
        row = noises.index(payload.get("noise", 0.0))
        column = families.index(payload["blur"])
        axis = axes[row, column]
        _draw_method_curves([axis], payload)
        axis.set_ylim(floor, 100)
        axis.set_title(
            f"{payload['blur']}, noise \N{GREEK SMALL LETTER SIGMA} = {payload.get('noise', 0.0):g}",
            fontsize=10,
        )
        axis.set_xlabel(
            "trajectory extent (fraction of the side)"
            if payload["blur"] == "shake"
            else "blur length l (fraction of the side)"
        )
        axis.set_ylabel("accuracy %")
        axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower left")
    figure.tight_layout()
    return figure


def methods_curves_figure(payloads: Sequence[dict], zoom_floor: float = 90.0):
    """Accuracy against blur length, one line per method and one column per grid.

    The line is the mean over the grid's angles and the band spans the worst
    to the best angle; the point at l = 0 is the clean row. The second row
    repeats the first from `zoom_floor` % up, where the defences differ.

    Args:
        payloads: Methods grids as `evaluate --grid --methods --json` writes
            them (`blur`, `length_scale`, `examples`, `clean_methods`, and
            `grid` records with `applied_length`, `angle` and `methods`).
        zoom_floor: Lower end of the second row's accuracy axis, in %.
    """
    figure, axes = plt.subplots(
        2, len(payloads), figsize=(5.6 * len(payloads), 8.0), squeeze=False
    )
    for column, payload in enumerate(payloads):
        _draw_method_curves(axes[:, column], payload)
        axes[1, column].set_ylim(zoom_floor, 100)
        axes[0, column].set_title(
            f"{payload['blur']} blur, lengths x {payload['length_scale']:g}, "
            f"{payload['examples']} test images",
            fontsize=10,
        )
        axes[1, column].set_title(f"the same, from {zoom_floor:g} %", fontsize=10)
        for axis in axes[:, column]:
            axis.set_xlabel("blur length l (fraction of the image side)")
            axis.set_ylabel("accuracy % (mean over θ; band: worst to best θ)")
            axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    return figure
