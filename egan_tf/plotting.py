"""Matplotlib figures. Each function takes data or records and returns a Figure;
`save_figure` writes it atomically."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # Figures are written to files; no screen is needed.

import matplotlib.pyplot as plt
import numpy as np


def save_figure(figure, path: str) -> None:
    """Writes a figure as PNG under a temporary name, then renames it."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    root, extension = os.path.splitext(path)
    temporary_path = f"{root}.tmp{extension or '.png'}"
    figure.savefig(temporary_path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    os.replace(temporary_path, path)


def digit_rows_figure(
    rows: Sequence[np.ndarray], row_titles: Sequence[str], title: str | None = None
):
    """Shows several rows of digits, one row per stage (clean, blurred, ...).

    Args:
        rows: Arrays [count, 28, 28, 1] or [count, 28, 28] in [0, 1], one per row,
            all with the same count.
        row_titles: Label written left of each row.
        title: Figure title.
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
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row_index, 0].set_ylabel(
            row_title, rotation=0, ha="right", va="center", fontsize=9
        )
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure
