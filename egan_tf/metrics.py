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


def angle_difference_degrees(first, second) -> np.ndarray:
    """Absolute difference of two angles in degrees, around the circle: [0, 180]."""
    difference = np.abs(np.asarray(first) - np.asarray(second)) % 360.0
    return np.minimum(difference, 360.0 - difference)
