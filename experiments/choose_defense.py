"""Chooses the settings of the beyond-the-paper defences on held-out training
images, never on the test set, and writes them to saved_models/defense.json.

The held-out images are the validation fold of the kept blur encoder (the
encoder never trained on them; C, C_aug and B did, which only flatters `none`,
`augment` and B's estimate, not the choice between EGAN settings). They are
blurred at every setting of the paper's grid at both length scales of the grid
issue (1 and 6) and left clean, and:

* the Wiener filter's K maximises the mean accuracy of `wiener` (B's estimate);
* the refinement step size maximises the mean accuracy of `egan-refine`;
* the gate length, the confidence override and the gated restorer maximise
  the mean accuracy of `gated`;
* the method with the best mean accuracy (at its chosen settings; the oracle
  excluded) becomes `adaptive_method`, the defence behind the exported
  `defend_adaptive` signature.

    python experiments/choose_defense.py --examples 2000
"""

from __future__ import annotations

import json
import os
import sys

import click

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WIENER_CANDIDATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
REFINE_RATE_CANDIDATES = (0.03, 0.1, 0.2, 0.4)
GATE_CANDIDATES = (0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25)
CONFIDENCE_CANDIDATES = (None, 0.9, 0.99, 0.999)
LENGTH_SCALES = (1.0, 6.0)


@click.command()
@click.option("--examples", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option(
    "--refine-steps", type=click.IntRange(min=1), default=5, show_default=True
)
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option("--output", default="saved_models/defense.json", show_default=True)
def main(examples, refine_steps, models_dir, output):
    import dataclasses

    import numpy as np
    import tensorflow as tf
    from tqdm.auto import tqdm

    from egan_tf.blur import apply_motion_blur
    from egan_tf.config import config_to_dict, write_json_atomically
    from egan_tf.data import MnistArrays, kfold_indices, load_mnist, to_unit_interval
    from egan_tf.deconvolution import wiener_deconvolve
    from egan_tf.defenses import (
        DefenseConfig,
        estimate_blur,
        load_defense_models,
        refine_latent,
    )
    from egan_tf.grid import PAPER_ANGLES, PAPER_LENGTHS

    models = load_defense_models(models_dir)
    with open(
        os.path.join(models_dir, "encoder_blur.json"), encoding="utf-8"
    ) as handle:
        card = json.load(handle)
    train = load_mnist("train")
    _, held_out = kfold_indices(
        len(train),
        card["cross_validation"]["folds"],
        card["best_fold"],
        card["training"]["seed"],
    )
    held_out = held_out[:examples]
    validation = MnistArrays(train.images[held_out], train.labels[held_out])
    settings = [(0.0, 0.0)] + [
        (length * scale, angle)
        for scale in LENGTH_SCALES
        for length in PAPER_LENGTHS
        for angle in PAPER_ANGLES
    ]

    def classify(images):
        return tf.argmax(models.classifier(images, training=False), -1)

    def confidence(images):
        return tf.reduce_max(
            tf.nn.softmax(models.classifier(images, training=False)), -1
        )

    @tf.function
    def predictions(blurred):
        estimated_length, estimated_angle = estimate_blur(models, blurred)
        start = models.encoder_blur(blurred, training=False)
        outputs = {
            "none": classify(blurred),
            "none_confidence": confidence(blurred),
            "egan-blur": classify(models.generator(start, training=False)),
            "egan-blur_confidence": confidence(models.generator(start, training=False)),
            "augment": tf.argmax(
                models.classifier_augment(blurred, training=False), -1
            ),
            "estimated_length": estimated_length,
        }
        for rate in REFINE_RATE_CANDIDATES:
            latent = refine_latent(
                models.generator, start, blurred, estimated_length, estimated_angle,
                refine_steps, rate,
            )  # fmt: skip
            outputs[f"refine {rate:g}"] = classify(models.generator(latent))
            outputs[f"refine {rate:g}_confidence"] = confidence(
                models.generator(latent)
            )
        for noise in WIENER_CANDIDATES:
            outputs[f"wiener {noise:g}"] = classify(
                wiener_deconvolve(blurred, estimated_length, estimated_angle, noise)
            )
        return outputs

    images = to_unit_interval(validation.images)
    collected = []
    for length, angle in tqdm(settings, desc="settings"):
        blurred = apply_motion_blur(images, length, angle) if length else images
        batches = [
            predictions(blurred[start : start + 500])
            for start in range(0, examples, 500)
        ]
        collected.append(
            {
                key: np.concatenate([b[key].numpy() for b in batches])
                for key in batches[0]
            }
        )
    labels = validation.labels

    def mean_accuracy(key_or_fn) -> float:
        scores = []
        for outputs in collected:
            predicted = (
                key_or_fn(outputs) if callable(key_or_fn) else outputs[key_or_fn]
            )
            scores.append(np.mean(predicted == labels))
        return float(np.mean(scores))

    wiener = {noise: mean_accuracy(f"wiener {noise:g}") for noise in WIENER_CANDIDATES}
    refine = {
        rate: mean_accuracy(f"refine {rate:g}") for rate in REFINE_RATE_CANDIDATES
    }
    best_noise = max(wiener, key=wiener.get)
    best_rate = max(refine, key=refine.get)

    def gated_labels(outputs, key, gate, confidence, compare):
        keep = outputs["estimated_length"] < gate
        if confidence is not None:
            keep = keep | (outputs["none_confidence"] >= confidence)
        if compare:
            keep = keep | (outputs["none_confidence"] >= outputs[f"{key}_confidence"])
        return np.where(keep, outputs["none"], outputs[key])

    gated = {}
    for restorer in ("egan-blur", "egan-refine"):
        key = "egan-blur" if restorer == "egan-blur" else f"refine {best_rate:g}"
        for gate in GATE_CANDIDATES:
            for confidence in CONFIDENCE_CANDIDATES:
                for compare in (False, True):
                    gated[(restorer, gate, confidence, compare)] = mean_accuracy(
                        lambda outputs, k=key, g=gate, c=confidence, m=compare: (
                            gated_labels(outputs, k, g, c, m)
                        )
                    )
    best_restorer, best_gate, best_confidence, best_compare = max(gated, key=gated.get)
    # The method behind the exported defend_adaptive signature: the best on
    # these held-out images among those a request can run (not the oracle).
    candidates = {
        "none": mean_accuracy("none"),
        "egan-blur": mean_accuracy("egan-blur"),
        "egan-refine": refine[best_rate],
        "gated": gated[(best_restorer, best_gate, best_confidence, best_compare)],
        "wiener": wiener[best_noise],
        "augment": mean_accuracy("augment"),
    }
    adaptive_method = max(candidates, key=candidates.get)
    chosen_key = (
        "egan-blur" if best_restorer == "egan-blur" else f"refine {best_rate:g}"
    )
    worst_margin = min(
        float(
            np.mean(
                gated_labels(
                    outputs, chosen_key, best_gate, best_confidence, best_compare
                )
                == labels
            )
            - np.mean(outputs["none"] == labels)
        )
        for outputs in collected
    )
    config = DefenseConfig(
        refine_steps=refine_steps,
        refine_learning_rate=best_rate,
        wiener_noise_to_signal=best_noise,
        gate_length=best_gate,
        gated_restorer=best_restorer,
        gate_confidence=best_confidence,
        gate_compare=best_compare,
    )
    payload = {
        "config": config_to_dict(config),
        "adaptive_method": adaptive_method,
        "mean_accuracy_of_each_method_at_its_chosen_settings": candidates,
        "gated_worst_margin_over_none": worst_margin,
        "chosen_on": (
            f"{examples} training images of the kept blur encoder's validation fold "
            f"(fold {card['best_fold']}), clean and blurred at the paper's grid at "
            f"length scales {list(LENGTH_SCALES)}: {len(settings)} settings; the "
            "criterion is the mean accuracy over the settings."
        ),
        "mean_accuracy": {
            "none": mean_accuracy("none"),
            "egan-blur": mean_accuracy("egan-blur"),
            "wiener, by K": {f"{k:g}": v for k, v in wiener.items()},
            "egan-refine, by step size": {f"{k:g}": v for k, v in refine.items()},
            "gated, by restorer, gate, confidence and compare": {
                f"{restorer} {gate:g} {confidence} {compare}": value
                for (restorer, gate, confidence, compare), value in gated.items()
            },
        },
    }
    write_json_atomically(output, payload)
    click.echo(json.dumps(dataclasses.asdict(config)))
    click.echo(json.dumps(payload["mean_accuracy"], indent=1))


if __name__ == "__main__":
    main()
