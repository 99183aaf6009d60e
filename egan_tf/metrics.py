"""Metrics shared by training and evaluation, below both.

Pure NumPy and the standard library, so that evaluation and reporting can use
them without importing any training code.
"""

from __future__ import annotations

import math

import numpy as np

# z for a two-sided 95 % interval.
_Z_95 = 1.959963984540054


def wilson_interval(correct: int, total: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion correct/total, in [0, 1]."""
    if total == 0:
        return (0.0, 1.0)
    proportion = correct / total
    denominator = 1 + _Z_95**2 / total
    centre = (proportion + _Z_95**2 / (2 * total)) / denominator
    half_width = (
        _Z_95
        * math.sqrt(proportion * (1 - proportion) / total + _Z_95**2 / (4 * total**2))
        / denominator
    )
    return (max(0.0, centre - half_width), min(1.0, centre + half_width))


def paired_difference(
    candidate: np.ndarray, baseline: np.ndarray, z: float = _Z_95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How much more often `candidate` is right than `baseline`, per row, with
    a normal interval of that paired difference.

    The comparison is paired (the same images under both), so only the images
    on which the two disagree add variance: a candidate that labels every
    image as the baseline does has difference 0 and interval [0, 0] exactly.

    Args:
        candidate, baseline: bool [rows, images], whether each was right.
        z: Normal quantile of each end (1.96: a two-sided 95 % interval).

    Returns:
        (mean difference float32 [rows] in [-1, 1], its lower and its upper
        end, mean ∓ z · standard error, float64 [rows]).

    Raises:
        ValueError: When the shapes differ or there are fewer than 2 images.
    """
    if candidate.shape != baseline.shape or candidate.ndim != 2:
        raise ValueError(
            "candidate and baseline must both be [rows, images]. Received: "
            f"candidate.shape={candidate.shape}, baseline.shape={baseline.shape}"
        )
    if candidate.shape[1] < 2:
        raise ValueError(
            f"A paired difference needs at least 2 images. Received: images={candidate.shape[1]}"
        )
    # float32 is exact for the differences (-1, 0, 1) and ample for their
    # mean over thousands of images.
    difference = candidate.astype(np.float32) - baseline.astype(np.float32)
    mean = difference.mean(axis=1)
    error = difference.std(axis=1, ddof=1) / np.sqrt(difference.shape[1])
    return mean, mean - z * error, mean + z * error


def angle_difference_degrees(first, second) -> np.ndarray:
    """Absolute difference of two angles in degrees, around the circle: [0, 180]."""
    difference = np.abs(np.asarray(first) - np.asarray(second)) % 360.0
    return np.minimum(difference, 360.0 - difference)
