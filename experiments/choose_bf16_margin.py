"""Chooses the margin below which a bfloat16 classifier's answer is
rechecked in float32 (`egan_tf.precision.BFLOAT16_RECHECK_MARGIN`), on
held-out training images, never on the test set; writes bf16_margin.json
into the models folder, where `evaluate --precision bfloat16` reads it.

The last 2,000 training images of the data set the networks learnt (not the test set) are blurred at the
paper's 20 settings at length scales 1 and 6, and left clean; each shipped
classifier (C, C_aug, C_mix) reads every view in float32 and in bfloat16
(batch norm folded, mixed_bfloat16). A row whose bfloat16 label differs from
float32's is a flip; the margin is twice the largest top-two bfloat16 logit
margin of any flip, rounded up to 0.05, so that rows somewhat closer to a
tie than any seen here are rechecked too. The share of rows that margin
rechecks is recorded as its cost.

    python experiments/choose_bf16_margin.py [--models saved_models/fashion_mnist]
"""

from __future__ import annotations

import math
import os

import click
import numpy as np
import tensorflow as tf

from egan_tf.atomic_files import write_json_atomically
from egan_tf.blur import apply_motion_blur
from egan_tf.data import load_split, to_unit_interval
from egan_tf.datasets import dataset_spec
from egan_tf.defenses import load_defense_models
from egan_tf.grid_spec import PAPER_GRID, PAPER_LENGTH_SCALE
from egan_tf.model_files import BFLOAT16_MARGIN_FILE, trained_data_set
from egan_tf.precision import bfloat16_model

HELD_OUT = 2000
STEP = 0.05


def margins_and_flips(model, views):
    single = tf.function(lambda images: model(images, training=False))
    half_model = bfloat16_model(model)
    half = tf.function(lambda images: half_model(images, training=False))
    margins, flips = [], []
    for images in views:
        reference = single(images).numpy()
        logits = half(images).numpy()
        best_two = np.sort(logits, axis=1)[:, -2:]
        margins.append(best_two[:, 1] - best_two[:, 0])
        flips.append(reference.argmax(1) != logits.argmax(1))
    return np.concatenate(margins), np.concatenate(flips)


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
def main(models_dir):
    models = load_defense_models(models_dir)
    dataset, _ = trained_data_set(models_dir)
    images = to_unit_interval(load_split("train", dataset=dataset).images[-HELD_OUT:])
    views = [images] + [
        apply_motion_blur(images, length * scale, angle)
        for scale in (PAPER_LENGTH_SCALE, dataset_spec(dataset).length_scale)
        for length, angle in PAPER_GRID.points
    ]
    title = dataset_spec(dataset).title
    record = {"held_out": f"the last {HELD_OUT} {title} training images",
              "views": len(views), "classifiers": {}}  # fmt: skip
    largest, all_margins = 0.0, {}
    for name in ("classifier", "classifier_augment", "classifier_mixture"):
        model = getattr(models, name)
        if model is None:
            continue
        margins, flips = margins_and_flips(model, views)
        all_margins[name] = margins
        flipped = float(margins[flips].max()) if flips.any() else 0.0
        largest = max(largest, flipped)
        record["classifiers"][name] = {
            "rows": int(flips.size),
            "flips": int(flips.sum()),
            "largest_margin_of_a_flip": round(flipped, 4),
        }
    margin = math.ceil(2 * largest / STEP) * STEP
    record["margin"] = round(margin, 4)
    for name, entry in record["classifiers"].items():
        margins = all_margins[name]
        entry["rechecked_share"] = round(float((margins < margin).mean()), 4)
    write_json_atomically(os.path.join(models_dir, BFLOAT16_MARGIN_FILE), record)
    print(record)


if __name__ == "__main__":
    main()
