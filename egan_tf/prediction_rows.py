"""The answers of the exported defence as a table for people: one row per
image with its label, the class's name where the data set names its classes,
the probability, the true label when known, and a tally of correct answers.

Kept apart from `egan_tf.serving`, whose clients return the raw outputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class PredictionRow:
    """One example's answer, for printing.

    Attributes:
        source: Where the image came from (a file name or a test index).
        label: Predicted class 0..9.
        probabilities: float [10] of the signature's `probabilities` output.
        true_label: The known class, when the image came from a test set or
            a labelled folder.
    """

    source: str
    label: int
    probabilities: tuple[float, ...]
    true_label: int | None = None


def prediction_rows(
    sources: Sequence[str],
    outputs: Mapping[str, np.ndarray],
    true_labels: Sequence[int] | None = None,
) -> list[PredictionRow]:
    """Pairs each source with its label and probabilities from `outputs`."""
    return [
        PredictionRow(
            source=source,
            label=int(outputs["label"][index]),
            probabilities=tuple(float(p) for p in outputs["probabilities"][index]),
            true_label=None if true_labels is None else int(true_labels[index]),
        )
        for index, source in enumerate(sources)
    ]


def format_prediction_rows(
    rows: Sequence[PredictionRow], class_names: Sequence[str] | None = None
) -> str:
    """A fixed-width table: source, label (and its class name when the
    classes have names other than their numbers), its probability, the true
    label when known, all probabilities."""
    show_truth = any(row.true_label is not None for row in rows)
    named = class_names is not None and any(
        name != str(index) for index, name in enumerate(class_names)
    )
    header = f"{'source':<24} {'label':>5}"
    if named:
        header += f" {'class':<12}"
    header += f" {'p':>6}"
    if show_truth:
        header += f" {'true':>4}"
    header += "  probabilities 0..9"
    lines = [header]
    for row in rows:
        line = f"{row.source:<24} {row.label:>5}"
        if named:
            line += f" {class_names[row.label]:<12}"
        line += f" {row.probabilities[row.label]:>6.3f}"
        if show_truth:
            line += f" {row.true_label:>4}"
        line += "  " + " ".join(f"{p:.2f}" for p in row.probabilities)
        lines.append(line)
    if show_truth and rows:
        correct = sum(row.label == row.true_label for row in rows)
        lines.append(f"{correct} of {len(rows)} correct")
    return "\n".join(lines)
