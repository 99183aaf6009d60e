"""Writes a grid result to the files a user asked for: JSON, CSV, figures,
TensorBoard. Every file goes through a temporary name and a rename."""

from __future__ import annotations

import os

import tensorflow as tf

from egan_tf.config import write_json_atomically
from egan_tf.data import MnistArrays
from egan_tf.grid import GridResult, restoration_examples
from egan_tf.model_io import ShippedModels
from egan_tf.plotting import digit_rows_figure, grid_heatmaps_figure, save_figure
from egan_tf.reporting import grid_json, write_grid_csv

HEATMAPS_FILE = "grid_heatmaps.png"
EXAMPLES_FILE = "grid_examples.png"
_EXAMPLE_COUNT = 10


def write_grid_outputs(
    result: GridResult,
    models: ShippedModels,
    test_arrays: MnistArrays,
    json_path: str | None = None,
    csv_path: str | None = None,
    figures_dir: str | None = None,
    logdir: str | None = None,
) -> list[str]:
    """Writes each requested output; returns the paths written."""
    written = []
    if json_path:
        write_json_atomically(json_path, grid_json(result))
        written.append(json_path)
    if csv_path:
        write_grid_csv(result, csv_path)
        written.append(csv_path)
    if figures_dir:
        heatmaps = os.path.join(figures_dir, HEATMAPS_FILE)
        save_figure(grid_heatmaps_figure(result), heatmaps)
        rows, titles = restoration_examples(
            models,
            test_arrays.images[:_EXAMPLE_COUNT],
            result.lengths,
            angle=result.angles[0],
            length_scale=result.length_scale,
        )
        examples = os.path.join(figures_dir, EXAMPLES_FILE)
        save_figure(
            digit_rows_figure(
                rows,
                titles,
                title=f"θ = {result.angles[0]:g}°, lengths x {result.length_scale:g}",
            ),
            examples,
        )
        written += [heatmaps, examples]
    if logdir:
        writer = tf.summary.create_file_writer(logdir)
        with writer.as_default():
            tf.summary.scalar("grid/clean_accuracy", result.clean_accuracy, step=0)
            tf.summary.scalar("grid/egan_accuracy", result.egan_accuracy, step=0)
            for point in result.grid:
                # One scalar series per angle, stepped by length in thousandths.
                step = round(point.length * 1000)
                suffix = f"angle_{point.angle:g}"
                tf.summary.scalar(
                    f"grid/blurred_{suffix}", point.accuracy_blurred, step=step
                )
                tf.summary.scalar(
                    f"grid/defended_{suffix}", point.accuracy_defended, step=step
                )
        writer.flush()
        written.append(logdir)
    return written
