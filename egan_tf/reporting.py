"""Text formatting of evaluation records (the records come from evaluation.py)."""

from __future__ import annotations

from egan_tf.evaluation import CleanRecord


def format_clean_record(record: CleanRecord) -> str:
    """One line a measurement: C(x), and C(G(E(x))) and the reconstruction error."""
    lines = [
        f"Test images:                  {record.examples}",
        f"Classifier accuracy C(x):     {record.clean_accuracy:.2%}",
    ]
    if record.egan_accuracy is not None:
        lines.append(f"EGAN accuracy C(G(E(x))):     {record.egan_accuracy:.2%}")
        lines.append(f"Reconstruction MSE x-G(E(x)): {record.reconstruction_mse:.5f}")
    return "\n".join(lines)
