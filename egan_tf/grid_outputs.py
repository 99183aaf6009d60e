"""Writes a grid result to the files a user asked for: JSON, CSV, figures,
TensorBoard. Every file goes through a temporary name and a rename."""

from __future__ import annotations

import os

import tensorflow as tf

from egan_tf.atomic_files import write_json_atomically
from egan_tf.data import ImageArrays, dataset_of, to_unit_interval
from egan_tf.datasets import dataset_spec
from egan_tf.defenses import DefenseConfig, DefenseModels, method_views
from egan_tf.grid import GridResult, restoration_examples
from egan_tf.grid_spec import GridSpec
from egan_tf.methods_grid import MethodsGridResult
from egan_tf.model_io import ShippedModels
from egan_tf.plotting import (
    grid_heatmaps_figure,
    image_rows_figure,
    methods_curves_figure,
    save_figure,
)
from egan_tf.reporting import attach_methods, grid_json, methods_json, write_grid_csv

HEATMAPS_FILE = "grid_heatmaps.png"
EXAMPLES_FILE = "grid_examples.png"
_EXAMPLE_COUNT = 10


def spec_of(result: GridResult | MethodsGridResult) -> GridSpec:
    """The blur settings a result was measured at."""
    return GridSpec(
        result.lengths,
        result.angles,
        result.length_scale,
        getattr(result, "blur_kind", "fourier"),
    )


def write_grid_outputs(
    result: GridResult,
    models: ShippedModels,
    test_arrays: ImageArrays,
    json_path: str | None = None,
    csv_path: str | None = None,
    figures_dir: str | None = None,
    logdir: str | None = None,
    extra: dict | None = None,
) -> list[str]:
    """Writes each requested output; returns the paths written. `extra`
    holds top-level keys added to the JSON (e.g. the user's classifier)."""
    written = []
    if json_path:
        write_json_atomically(json_path, {**grid_json(result), **(extra or {})})
        written.append(json_path)
    if csv_path:
        write_grid_csv(result, csv_path)
        written.append(csv_path)
    if figures_dir:
        heatmaps = os.path.join(figures_dir, HEATMAPS_FILE)
        save_figure(grid_heatmaps_figure(result), heatmaps)
        rows, titles = restoration_examples(
            models, test_arrays.images[:_EXAMPLE_COUNT], spec_of(result)
        )
        examples = os.path.join(figures_dir, EXAMPLES_FILE)
        save_figure(
            image_rows_figure(
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


METHODS_EXAMPLES_FILE = "methods_examples.png"
METHODS_CURVES_FILE = "methods_curves.png"


def write_methods_outputs(
    result: MethodsGridResult,
    cost_ms_per_image: dict[str, float],
    models: DefenseModels,
    config: DefenseConfig,
    test_arrays: ImageArrays,
    paper_result: GridResult | None = None,
    json_path: str | None = None,
    figures_dir: str | None = None,
    extra: dict | None = None,
) -> list[str]:
    """Writes the methods grid: JSON (merged into the paper's grid JSON when
    `paper_result` is given, with `extra`'s top-level keys), a figure of
    accuracy against blur length for every method, and one of the same
    digits through each method at the strongest setting of the grid."""
    written = []
    payload = methods_json(result, cost_ms_per_image)
    if json_path:
        merged = payload
        if paper_result is not None:
            merged = attach_methods(grid_json(paper_result), payload)
        write_json_atomically(json_path, {**merged, **(extra or {})})
        written.append(json_path)
    if figures_dir:
        path = os.path.join(figures_dir, METHODS_CURVES_FILE)
        save_figure(methods_curves_figure([payload]), path)
        written.append(path)
        spec = spec_of(result)
        length, angle = spec.strongest
        labels = test_arrays.labels[:_EXAMPLE_COUNT]
        names = dataset_spec(dataset_of(test_arrays)).class_names
        views = method_views(
            models,
            config,
            result.methods,
            to_unit_interval(test_arrays.images[:_EXAMPLE_COUNT]),
            spec,
        )
        captions = [
            [
                (names[label], "green" if label == truth else "red")
                for label, truth in zip(predicted, labels, strict=True)
            ]
            for _, _, predicted in views
        ]
        path = os.path.join(figures_dir, METHODS_EXAMPLES_FILE)
        save_figure(
            image_rows_figure(
                [images for _, images, _ in views],
                [title for title, _, _ in views],
                title=f"What each method classifies: {result.blur_kind} blur "
                f"l = {length:g}, θ = {angle:g}° (label above: green right, red wrong)",
                captions=captions,
            ),
            path,
        )
        written.append(path)
    return written
