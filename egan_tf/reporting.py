"""Text formatting of evaluation records (the records come from evaluation.py)."""

from __future__ import annotations

import csv
import dataclasses

from egan_tf.atomic_files import atomic_path
from egan_tf.datasets import DEFAULT_DATASET, dataset_spec
from egan_tf.defenses import EGAN_BASED_METHODS, Method
from egan_tf.evaluation import CleanRecord
from egan_tf.export.contract import measured_of
from egan_tf.grid import GridResult
from egan_tf.images_evaluation import ImagesResult
from egan_tf.methods_grid import MethodsGridResult


def format_clean_record(record: CleanRecord) -> str:
    """One line a measurement: C(x), and C(G(E(x))) and the reconstruction error."""
    lines = [
        f"Test images:                  {record.examples}",
        f"Classifier accuracy C(x):     {record.clean_accuracy:.2%}",
    ]
    if record.egan_accuracy is not None:
        lines.append(f"EGAN accuracy C(G(E(x))):     {record.egan_accuracy:.2%}")
        lines.append(f"Reconstruction MSE x-G(E(x)): {record.reconstruction_mse:.5f}")
    if record.per_class:
        lines.append(_per_class_table(record))
    return "\n".join(lines)


def _per_class_table(record: CleanRecord) -> str:
    """C(x), C(G(E(x))), their difference and the reconstruction error per
    class, named as the data set names them: where G covers the data."""
    names = dataset_spec(
        (record.data or {}).get("dataset", DEFAULT_DATASET)
    ).class_names
    width = max(len(name) for name in (*names, "class"))
    lines = [
        "Per class:",
        f"{'class':<{width}} {'images':>6} {'C(x)':>7} {'C(G(E(x)))':>10} "
        f"{'change':>7} {'MSE':>8}",
    ]
    for item in record.per_class:
        lines.append(
            f"{names[item['label']]:<{width}} {item['examples']:>6} "
            f"{item['plain_accuracy']:>7.2%} {item['defended_accuracy']:>10.2%} "
            f"{100 * (item['defended_accuracy'] - item['plain_accuracy']):>+7.2f} "
            f"{item['reconstruction_mse']:>8.5f}"
        )
    return "\n".join(lines)


def _table(result: GridResult, value, title: str, clean_row: float | None) -> str:
    header = f"{'l':>6} | " + " | ".join(
        f"θ={angle:g}°".rjust(8) for angle in result.angles
    )
    lines = [title, header, "-" * len(header)]
    if clean_row is not None:
        lines.append(
            f"{0:>6g} | " + " | ".join(f"{clean_row:8.2%}" for _ in result.angles)
        )
    for length in result.lengths:
        cells = [value(result.point(length, angle)) for angle in result.angles]
        lines.append(f"{length:>6g} | " + " | ".join(f"{cell:8.2%}" for cell in cells))
    return "\n".join(lines)


def format_grid(result: GridResult) -> str:
    """Tables 1 and 2 in the paper's layout (rows l, columns θ), their
    difference, and the clean reference line."""
    scale = "" if result.length_scale == 1 else f" (lengths x {result.length_scale:g})"
    table_1 = _table(
        result,
        lambda point: point.accuracy_blurred,
        f"Table 1: accuracy of C on blurred images{scale}, over the "
        f"{result.grid[0].subset_examples} test images C gets right when clean",
        None,
    )
    table_2 = _table(
        result,
        lambda point: point.accuracy_defended,
        f"Table 2: accuracy of C(G(E(blurred))){scale}, same images; row l=0 is "
        "C(G(E(x))) on clean images",
        result.egan_accuracy,
    )
    difference = _table(
        result,
        lambda point: point.accuracy_defended - point.accuracy_blurred,
        "Difference, Table 2 - Table 1 (positive: the EGAN helps)",
        None,
    ).replace("%", "")
    summary = (
        f"Clean accuracy C(x): {result.clean_accuracy:.2%}   "
        f"EGAN clean accuracy C(G(E(x))): {result.egan_accuracy:.2%}   "
        f"({result.examples} test images)"
    )
    return "\n\n".join([table_1, table_2, difference, summary])


def grid_json(result: GridResult) -> dict:
    """The grid in the documented JSON layout (fractions in [0, 1])."""
    return {
        "clean_accuracy": result.clean_accuracy,
        "egan_accuracy": result.egan_accuracy,
        "length_scale": result.length_scale,
        "examples": result.examples,
        "grid": [
            {
                "length": point.length,
                "angle": point.angle,
                "applied_length": point.applied_length,
                "accuracy_blurred": point.accuracy_blurred,
                "accuracy_defended": point.accuracy_defended,
                "accuracy_blurred_all": point.accuracy_blurred_all,
                "accuracy_defended_all": point.accuracy_defended_all,
                "subset_examples": point.subset_examples,
                "examples": point.examples,
                "intervals_95": {
                    key: list(value) for key, value in point.intervals.items()
                },
            }
            for point in result.grid
        ],
        "data": result.data,
    }


GRID_CSV_COLUMNS = (
    "length",
    "angle",
    "applied_length",
    "accuracy_blurred",
    "accuracy_defended",
    "accuracy_blurred_all",
    "accuracy_defended_all",
    "subset_examples",
    "examples",
)


def write_grid_csv(result: GridResult, path: str) -> None:
    """Writes one CSV row per grid point, atomically."""
    with (
        atomic_path(path) as temporary,
        open(temporary, "w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.DictWriter(handle, fieldnames=GRID_CSV_COLUMNS)
        writer.writeheader()
        for row in grid_json(result)["grid"]:
            writer.writerow({column: row[column] for column in GRID_CSV_COLUMNS})


def format_methods_grid(
    result: MethodsGridResult, cost_ms_per_image: dict[str, float] | None = None
) -> str:
    """Accuracy of every method (columns) at every grid point (rows), on all
    test images; the first row is the clean images. The best EGAN-based
    method's margin over `none` closes each row."""
    names = list(result.methods)
    egan_based = [name for name in names if Method(name) in EGAN_BASED_METHODS]
    width = max(8, *(len(name) for name in names))
    header = f"{'l':>6} {'θ':>5} | " + " | ".join(name.rjust(width) for name in names)
    if egan_based and "none" in names:
        header += " | best EGAN - none"
    scale = "" if result.length_scale == 1 else f", lengths x {result.length_scale:g}"
    lines = [
        f"Accuracy of every method on all {result.examples} test images "
        f"({result.blur_kind} blur{scale})",
        header,
        "-" * len(header),
    ]

    def row(label_length, label_angle, accuracy):
        line = f"{label_length:>6} {label_angle:>5} | " + " | ".join(
            f"{accuracy[name]:>{width}.2%}" for name in names
        )
        if egan_based and "none" in names:
            best = max(accuracy[name] for name in egan_based)
            line += f" | {100 * (best - accuracy['none']):+15.2f}"
        return line

    lines.append(row("clean", "", result.clean))
    for point in result.grid:
        lines.append(row(f"{point.length:g}", f"{point.angle:g}", point.accuracy))
    if result.clean_estimator is not None:
        worst = max(
            (
                point
                for point in result.grid
                if point.estimator.angle_mae_degrees is not None
            ),
            key=lambda point: point.estimator.angle_mae_degrees,
            default=None,
        )
        text = (
            f"Blur estimator: calls {result.clean_estimator.detected_fraction:.2%} of "
            "clean images blurred; length error "
            + ", ".join(
                f"{point.estimator.length_mae:.3f}"
                for point in result.grid[:: len(result.angles)]
            )
            + " (first angle of each length)"
        )
        if worst is not None:
            text += f"; worst angle error {worst.estimator.angle_mae_degrees:.1f}°"
        lines.append(text)
    if cost_ms_per_image:
        lines.append(
            "Cost, ms per image: "
            + ", ".join(
                f"{name} {cost:.2f}" for name, cost in cost_ms_per_image.items()
            )
        )
    return "\n".join(lines)


def _estimator_json(record) -> dict | None:
    """B's record at one setting as JSON, or None without B."""
    return None if record is None else dataclasses.asdict(record)


def _paired_json(paired: dict) -> dict:
    """ "candidate - baseline" -> {"difference", "low", "high"} (fractions)."""
    return {name: dataclasses.asdict(record) for name, record in paired.items()}


def methods_json(
    result: MethodsGridResult, cost_ms_per_image: dict[str, float] | None = None
) -> dict:
    """The methods grid as JSON: `clean_methods` and one record per point with
    its `methods` (name -> accuracy on all images, a fraction)."""
    return {
        "blur": result.blur_kind,
        "length_scale": result.length_scale,
        "examples": result.examples,
        "clean_methods": dict(result.clean),
        "clean_estimator": _estimator_json(result.clean_estimator),
        "clean_paired": _paired_json(result.clean_paired),
        "cost_ms_per_image": cost_ms_per_image,
        "defense_config": result.defense_config,
        "grid": [
            {
                "length": point.length,
                "angle": point.angle,
                "applied_length": point.applied_length,
                "methods": dict(point.accuracy),
                "estimator": _estimator_json(point.estimator),
                "paired": _paired_json(point.paired),
            }
            for point in result.grid
        ],
        "data": result.data,
        "noise": result.noise,
        "methods_info": {
            method: {"uses_generator": Method(method) in EGAN_BASED_METHODS}
            for method in result.methods
        },
    }


def attach_methods(grid_payload: dict, methods_payload: dict) -> dict:
    """Adds each point's methods record (`methods`, `estimator`, `paired`) to
    the paper's grid JSON, and `clean_methods` and the rest of the methods
    record at the top."""
    by_setting = {
        (record["length"], record["angle"]): record
        for record in methods_payload["grid"]
    }
    merged = {
        **grid_payload,
        **{key: value for key, value in methods_payload.items() if key != "grid"},
    }
    merged["grid"] = [
        {**record, **by_setting[(record["length"], record["angle"])]}
        for record in grid_payload["grid"]
    ]
    return merged


def format_export_entry(entry: dict) -> str:
    """One line of what an export measured on the test set (its entry in
    `export.json` must have measured something)."""
    measured = measured_of(entry)
    text = (
        f"Exported serving_default on {measured['examples']} test images: "
        f"defended {100 * measured['defended_accuracy']:.2f}%, "
        f"undefended {100 * measured['undefended_accuracy']:.2f}%"
    )
    if "adaptive_accuracy" in measured:
        text += f", defend_adaptive {100 * measured['adaptive_accuracy']:.2f}%"
    if "gated_accuracy" in measured:
        text += f", defend_gated {100 * measured['gated_accuracy']:.2f}%"
    equivalence = measured.get("defend_gated_vs_in_memory")
    if equivalence:
        text += (
            "\ndefend_gated from disk vs in memory, blurred test images: "
            + "; ".join(
                f"{family} {record['labels_equal']}/{record['examples']} labels equal, "
                f"max |Δ logit| {record['max_logit_difference']:.1e}"
                for family, record in equivalence.items()
            )
        )
    return text


def format_images_result(result: ImagesResult) -> str:
    """Every method's accuracy on a user's images, with 95 % Wilson
    intervals, the paired differences, and the methods that could not run."""
    width = max(14, *(len(name) for name in result.methods))
    lines = [
        f"Accuracy on {result.examples} images from {result.source} "
        f"(taken as they are; classifier: {result.classifier})",
        f"{'method':<{width}} {'accuracy':>9}   95 % interval   uses G",
    ]
    for name in result.methods:
        low, high = result.interval[name]
        uses = "yes" if Method(name) in EGAN_BASED_METHODS else "no"
        lines.append(
            f"{name:<{width}} {result.accuracy[name]:>9.2%}   "
            f"[{100 * low:5.2f}, {100 * high:6.2f}]   {uses}"
        )
    for name, record in result.paired.items():
        lines.append(
            f"{name}: {100 * record.difference:+.2f} points "
            f"[{100 * record.low:+.2f}, {100 * record.high:+.2f}]"
        )
    if result.detected_fraction is not None:
        lines.append(
            f"Blur estimator: calls {result.detected_fraction:.2%} of the images "
            "blurred (per-image estimates in the JSON)"
        )
    for name, reason in result.not_applicable.items():
        lines.append(f"{name}: not applicable ({reason})")
    return "\n".join(lines)


def images_json(result: ImagesResult) -> dict:
    """The user-images record as JSON, with `methods_info` as in the grid."""
    return {
        **result.to_dict(),
        "methods_info": {
            method: {"uses_generator": Method(method) in EGAN_BASED_METHODS}
            for method in result.methods
        },
    }
