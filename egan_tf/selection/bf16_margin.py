"""Chooses the margin below which a bfloat16 classifier's answer is rechecked
in float32 (`egan_tf.precision.BFLOAT16_RECHECK_MARGIN` by default), on
held-out training images, never on the test set.

The held-out images are blurred at the paper's 20 settings at length scale 1
and at the data set's rescaled scale, and also left clean; each classifier
reads every view in float32 and in bfloat16 (batch norm folded,
mixed_bfloat16). A row whose bfloat16 label differs from float32's is a flip;
the margin is twice the largest top-two bfloat16 logit margin of any flip,
rounded up to the config's step, so that rows somewhat closer to a tie than
any seen are rechecked too. The share of rows that margin rechecks is
recorded as its cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.data import to_unit_interval
from egan_tf.grid_spec import PAPER_GRID, PAPER_LENGTH_SCALE
from egan_tf.precision import bfloat16_model
from egan_tf.selection.config import Bfloat16MarginConfig


def recheck_margin(largest_flip_margin: float, step: float) -> float:
    """Twice the largest margin at which a label flipped, rounded up to a
    multiple of `step` (0 when nothing flipped)."""
    return round(math.ceil(2 * largest_flip_margin / step) * step, 4)


def margins_and_flips(
    model: keras.Model, views: list[tf.Tensor]
) -> tuple[np.ndarray, np.ndarray]:
    """For every row of every view: bfloat16's top-two logit margin (float32,
    ≥ 0) and whether its label differs from float32's (bool)."""
    single = tf.function(lambda images: model(images, training=False), autograph=False)
    half_model = bfloat16_model(model)
    half = tf.function(
        lambda images: half_model(images, training=False), autograph=False
    )
    margins, flips = [], []
    for images in views:
        reference = single(images).numpy()
        logits = half(images).numpy().astype(np.float32)
        best_two = np.sort(logits, axis=1)[:, -2:]
        margins.append(best_two[:, 1] - best_two[:, 0])
        flips.append(reference.argmax(1) != logits.argmax(1))
    return np.concatenate(margins), np.concatenate(flips)


def choose_bfloat16_margin(
    classifiers: Mapping[str, keras.Model],
    images: np.ndarray,
    rescaled_length_scale: float,
    held_out: str,
    config: Bfloat16MarginConfig | None = None,
) -> dict:
    """Measures bfloat16's flips on the held-out views and chooses the margin.

    Args:
        classifiers: The shipped classifiers by file stem (C, and C_aug and
            C_mix when shipped).
        images: uint8 [images, 28, 28, 1] in [0, 255], held-out training
            images (the last `config.examples` are used).
        rescaled_length_scale: The data set's rescaled grid scale.
        held_out: Which images these are, for the record.
        config: The margin's step (`Bfloat16MarginConfig()` if None).

    Returns:
        The record written as `bf16_margin.json`: "margin", and per
        classifier its rows, flips, the largest margin of a flip and the
        share of rows the margin rechecks.
    """
    config = config or Bfloat16MarginConfig()
    unit_images = to_unit_interval(images[-config.examples :])
    views = [tf.constant(unit_images)] + [
        apply_motion_blur(unit_images, length * scale, angle)
        for scale in (PAPER_LENGTH_SCALE, rescaled_length_scale)
        for length, angle in PAPER_GRID.points
    ]
    measured = {
        name: margins_and_flips(model, views) for name, model in classifiers.items()
    }
    largest = {
        name: float(margins[flips].max()) if flips.any() else 0.0
        for name, (margins, flips) in measured.items()
    }
    margin = recheck_margin(max(largest.values(), default=0.0), config.step)
    return {
        "held_out": held_out,
        "views": len(views),
        "margin": margin,
        "classifiers": {
            name: {
                "rows": int(flips.size),
                "flips": int(flips.sum()),
                "largest_margin_of_a_flip": round(largest[name], 4),
                "rechecked_share": round(float((margins < margin).mean()), 4),
            }
            for name, (margins, flips) in measured.items()
        },
    }
