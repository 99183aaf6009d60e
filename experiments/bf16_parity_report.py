"""Compares evaluation JSONs run with `--precision bfloat16` against their
float32 counterparts, cell by cell, and writes saved_models/bf16_parity.json.

    python experiments/bf16_parity_report.py FLOAT32.json BFLOAT16.json [...pairs]

A cell is every accuracy a JSON holds per grid point (the paper's four, and
each method's for a methods grid) and on clean images. The issue's target:
every cell within 0.1 points.
"""

from __future__ import annotations

import json
import os
import sys

from egan_tf.atomic_files import write_json_atomically

PAPER_KEYS = (
    "accuracy_blurred",
    "accuracy_defended",
    "accuracy_blurred_all",
    "accuracy_defended_all",
)
TARGET_POINTS = 0.1
OUTPUT = "saved_models/bf16_parity.json"


def cells(payload: dict) -> dict[str, float]:
    """Every accuracy of an evaluation JSON by a readable name, in points."""
    # The paper's clean figures; a methods grid of another blur has none.
    found = {
        key: payload[key]
        for key in ("clean_accuracy", "egan_accuracy")
        if key in payload
    }
    for method, value in payload.get("clean_methods", {}).items():
        found[f"clean {method}"] = value
    for point in payload["grid"]:
        where = f"l={point['length']:g} θ={point['angle']:g}"
        for key in PAPER_KEYS:
            if key in point:
                found[f"{where} {key}"] = point[key]
        for method, value in point.get("methods", {}).items():
            found[f"{where} {method}"] = value
    return {name: 100 * value for name, value in found.items()}


def compare(single_path: str, half_path: str) -> dict:
    with open(single_path, encoding="utf-8") as handle:
        single = json.load(handle)
    with open(half_path, encoding="utf-8") as handle:
        half = json.load(handle)
    if half.get("precision") != "bfloat16":
        raise ValueError(f"{half_path} was not run in bfloat16.")
    single_cells, half_cells = cells(single), cells(half)
    differences = {
        name: round(half_cells[name] - value, 4) for name, value in single_cells.items()
    }
    worst = max(differences, key=lambda name: abs(differences[name]))
    return {
        "float32": os.path.basename(single_path),
        "examples": half["examples"],
        "cells": len(differences),
        "largest_difference_points": abs(differences[worst]),
        "largest_at": worst,
        "cells_beyond_target": sum(
            abs(value) > TARGET_POINTS + 1e-9 for value in differences.values()
        ),
    }


def main(paths: list[str]) -> None:
    if len(paths) % 2:
        raise SystemExit("Give pairs: FLOAT32.json BFLOAT16.json ...")
    report = {
        "target_points": TARGET_POINTS,
        "how": "python cli.py evaluate ... --precision bfloat16 against the same "
        "command in float32, all 10,000 test images",
        "grids": {
            os.path.basename(half): compare(single, half)
            for single, half in zip(paths[::2], paths[1::2], strict=True)
        },
    }
    write_json_atomically(OUTPUT, report)
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
