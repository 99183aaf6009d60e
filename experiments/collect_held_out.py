"""Runs every candidate defence setting over held-out training images once and
keeps each image's answers, so that `choose_defense.py` can compare settings
without running a network again.

The held-out images are the validation fold of the kept blur encoder (E_blur
never trained on them). They are left clean and blurred at every setting of
the paper's grid at both length scales of the grid issue (1 and 6). For each
image and setting the file keeps B's estimated length and, for every
candidate view of the image (the image itself, G(E_blur(x)), the refined
restoration after each number of steps, the Wiener filter at each K), the
label and top softmax probability given by the shipped C and by the
selection stand-in C' (`train_selection_classifier.py`), plus C_aug's label.

    python experiments/collect_held_out.py --output runs/selection/held_out.npz
"""

from __future__ import annotations

import json
import os

import click

WIENER_CANDIDATES = (1e-3, 3e-3, 1e-2)
REFINE_RATE_CANDIDATES = (0.03,)
REFINE_STEP_CANDIDATES = (5, 10, 20)
LENGTH_SCALES = (1.0, 6.0)
BATCH = 500


@click.command()
@click.option("--examples", type=click.IntRange(min=1), default=None)
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option(
    "--selection-classifier",
    default="runs/selection/classifier.keras",
    show_default=True,
)
@click.option("--output", default="runs/selection/held_out.npz", show_default=True)
def main(examples, models_dir, selection_classifier, output):
    import keras
    import numpy as np
    import tensorflow as tf
    from tqdm.auto import tqdm

    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import load_mnist, to_unit_interval
    from egan_tf.deconvolution import wiener_deconvolve
    from egan_tf.defenses import estimate_blur, load_defense_models, refine_latent_path
    from egan_tf.grid_spec import PAPER_ANGLES, PAPER_LENGTHS
    from egan_tf.training.encoder import kept_fold_split

    models = load_defense_models(models_dir)
    proxy = keras.saving.load_model(selection_classifier, compile=False)
    with open(os.path.join(models_dir, "encoder_blur.json"), encoding="utf-8") as f:
        card = json.load(f)
    _, held_out = kept_fold_split(card, load_mnist("train"))
    labels = held_out.labels[:examples]
    images = to_unit_interval(held_out.images[:examples])
    settings = [(0.0, 0.0)] + [
        (length * scale, angle)
        for scale in LENGTH_SCALES
        for length in PAPER_LENGTHS
        for angle in PAPER_ANGLES
    ]

    def read(outputs, name, views):
        for reader_name, reader in (("c", models.classifier), ("proxy", proxy)):
            probabilities = tf.nn.softmax(reader(views, training=False))
            outputs[f"{name}/{reader_name}"] = tf.cast(
                tf.argmax(probabilities, -1), tf.int8
            )
            outputs[f"{name}/{reader_name}_confidence"] = tf.cast(
                tf.reduce_max(probabilities, -1), tf.float16
            )

    @tf.function
    def answers(blurred):
        estimate = estimate_blur(models, blurred)
        length, angle = estimate.length, estimate.angle
        outputs = {"estimated_length": tf.cast(length, tf.float16)}
        read(outputs, "none", blurred)
        start = models.encoder_blur(blurred, training=False)
        read(outputs, "egan-blur", models.generator(start, training=False))
        for rate in REFINE_RATE_CANDIDATES:
            path = refine_latent_path(
                models.generator, start, blurred, length, angle,
                max(REFINE_STEP_CANDIDATES), rate,
            )  # fmt: skip
            for steps in REFINE_STEP_CANDIDATES:
                read(
                    outputs,
                    f"refine {rate:g} {steps}",
                    models.generator(path[steps], training=False),
                )
        for noise in WIENER_CANDIDATES:
            read(
                outputs,
                f"wiener {noise:g}",
                wiener_deconvolve(blurred, length, angle, noise),
            )
        outputs["augment/c"] = tf.cast(
            tf.argmax(models.classifier_augment(blurred, training=False), -1), tf.int8
        )
        return outputs

    collected: dict[str, list[np.ndarray]] = {}
    for length, angle in tqdm(settings, desc="settings"):
        blurred = apply_motion_blur(images, length, angle) if length else images
        batches = [
            answers(tf.constant(blurred[start : start + BATCH]))
            for start in range(0, len(images), BATCH)
        ]
        for key in batches[0]:
            collected.setdefault(key, []).append(
                np.concatenate([batch[key].numpy() for batch in batches])
            )
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    temporary = output + ".tmp.npz"
    np.savez_compressed(
        temporary,
        labels=labels,
        lengths=np.array([length for length, _ in settings], np.float32),
        angles=np.array([angle for _, angle in settings], np.float32),
        **{key: np.stack(value) for key, value in collected.items()},
    )
    os.replace(temporary, output)
    click.echo(f"Wrote {output}: {len(settings)} settings x {len(images)} images.")


if __name__ == "__main__":
    main()
