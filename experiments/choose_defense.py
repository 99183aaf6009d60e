"""Chooses the settings of the beyond-the-paper defences on held-out training
images, never on the test set, and writes them to saved_models/defense.json.

It reads the answers that `collect_held_out.py` stored for every candidate
setting on the validation fold of the kept blur encoder, clean and blurred by
the training families of issue 12 (the Fourier model at the paper's grid at
length scales 1 and 6, camera shake at five strengths), each at read noise
0 and 0.02: 92 settings. The out-of-distribution families never enter.

Who reads the images matters. The shipped classifiers trained on these very
images, so their accuracy on them is not their accuracy on new images. The
comparisons below therefore read every view with stand-ins of the same
architecture, schedule and augmentation that never saw the fold
(`train_selection_classifier.py`): C' for C, C_mix' for C_mix, C_aug' for
C_aug. The settings chosen are then used with the shipped networks.

* Wiener's K maximises the mean accuracy of `wiener` (B's estimate).
* The refinement takes the fewest steps whose mean accuracy is within
  REFINE_STEP_TOLERANCE of the best (each step costs as much as the first).
* The hybrid's restoration is `egan-blur`'s unless `egan-refine`'s buys
  more than REFINE_STEP_TOLERANCE (it costs ten times as much); its weight
  maximises its mean accuracy.
* `gated` must not be below `none` anywhere, so it is chosen as a constrained
  problem, not by its mean: a setting is admissible when, at every one of the
  92 settings, the 95 % lower confidence bound of its paired accuracy
  difference to `none` is at least 0. Among admissible settings the best mean
  wins; if none is admissible, the best worst-case bound.
* The method with the best mean accuracy (the oracle excluded) becomes
  `adaptive_method`, the defence behind the exported `defend_adaptive`
  signature.

    python experiments/choose_defense.py --answers runs/selection/held_out.npz
"""

from __future__ import annotations

import functools
import json
import os

import click

GATE_CANDIDATES = (
    0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25, 0.3,
)  # fmt: skip
CONFIDENCE_CANDIDATES = (None, 0.99, 0.999)
HYBRID_WEIGHT_CANDIDATES = (0.25, 0.5, 1.0, 2.0, 4.0)
REFINE_STEP_TOLERANCE = 0.001
STAND_INS = ("classifier", "classifier_mixture", "classifier_augment")


@click.command()
@click.option("--answers", default="runs/selection/held_out.npz", show_default=True)
@click.option(
    "--stand-ins",
    "stand_in_dir",
    default="runs/selection",
    show_default=True,
    help="Folder of the stand-ins' cards, quoted in defense.json.",
)
@click.option("--output", default="saved_models/defense.json", show_default=True)
def main(answers, stand_in_dir, output):
    import numpy as np

    from egan_tf.atomic_files import write_json_atomically
    from egan_tf.config import config_to_dict
    from egan_tf.defenses import DefenseConfig
    from egan_tf.selection import (
        choose_constrained,
        fewest_steps_within,
        paired_margins,
        routed_correct,
        score_setting,
    )

    # Read every array once: an npz archive decompresses on each access.
    with np.load(answers) as archive:
        stored = {name: archive[name] for name in archive.files}
    labels = stored["labels"]

    @functools.cache
    def log_probabilities(view: str, reader: str) -> np.ndarray:
        """float32 [settings, images, 10]."""
        return stored[f"{view}/{reader}"].astype(np.float32)

    def hybrid_log_probabilities(view: str, weight: float, reader: str):
        return log_probabilities("mixture", reader) + weight * log_probabilities(
            view, reader
        )

    def correct_of(log_probs: np.ndarray) -> np.ndarray:
        return log_probs.argmax(-1) == labels

    def confidence_of(log_probs: np.ndarray) -> np.ndarray:
        return np.exp(log_probs.max(-1))

    @functools.cache
    def correct(view: str, reader: str = "proxy") -> np.ndarray:
        """bool [settings, images]: whether `reader` labels `view` right."""
        return correct_of(log_probabilities(view, reader))

    def mean(matrix: np.ndarray) -> float:
        return float(matrix.mean())

    views = {name.split("/")[0] for name in stored if name.endswith("/proxy")}
    wiener = {v: mean(correct(v)) for v in sorted(views) if v.startswith("wiener ")}
    refine = {v: mean(correct(v)) for v in sorted(views) if v.startswith("refine ")}
    best_wiener = max(wiener, key=wiener.get)
    refine_rate = next(iter(refine)).split()[1]
    best_steps = fewest_steps_within(
        {int(view.split()[2]): value for view, value in refine.items()},
        REFINE_STEP_TOLERANCE,
    )
    refine_view = f"refine {refine_rate} {best_steps}"
    restorer_views = {"egan-blur": "egan-blur", "egan-refine": refine_view}
    hybrid = {
        (restorer, weight): mean(
            correct_of(hybrid_log_probabilities(view, weight, "proxy"))
        )
        for restorer, view in restorer_views.items()
        for weight in HYBRID_WEIGHT_CANDIDATES
    }
    # The cheaper restoration unless the refined one buys more than the
    # tolerance (it costs about ten times as much per image).
    best_by_restorer = {
        restorer: max(v for (r, _), v in hybrid.items() if r == restorer)
        for restorer in restorer_views
    }
    hybrid_restorer = (
        "egan-refine"
        if best_by_restorer["egan-refine"]
        > best_by_restorer["egan-blur"] + REFINE_STEP_TOLERANCE
        else "egan-blur"
    )
    best_weight = max(
        HYBRID_WEIGHT_CANDIDATES, key=lambda w: hybrid[(hybrid_restorer, w)]
    )
    hybrid_view = restorer_views[hybrid_restorer]

    def restorer_answers(restorer: str, reader: str) -> np.ndarray:
        """float32 [settings, images, 10]: the log probabilities of a restorer."""
        if restorer == "hybrid":
            return hybrid_log_probabilities(hybrid_view, best_weight, reader)
        return log_probabilities(restorer_views[restorer], reader)

    none_correct = correct("none")
    estimated_length = stored["estimated_length"].astype(np.float32)

    def gated_correct(restorer, gate, confidence, compare, reader="proxy"):
        plain = log_probabilities("none", reader)
        restored = restorer_answers(restorer, reader)
        keep = estimated_length < gate
        if confidence is not None:
            keep = keep | (confidence_of(plain) >= confidence)
        if compare:
            # The hybrid's sum is not a normalised distribution; renormalise.
            restored_probabilities = restored - np.logaddexp.reduce(
                restored, axis=-1, keepdims=True
            )
            keep = keep | (
                confidence_of(plain) >= confidence_of(restored_probabilities)
            )
        return routed_correct(keep, correct_of(plain), correct_of(restored))

    searched = [
        score_setting(
            {
                "restorer": restorer,
                "gate_length": gate,
                "gate_confidence": confidence,
                "gate_compare": compare,
            },
            gated_correct(restorer, gate, confidence, compare),
            none_correct,
        )
        for restorer in ("egan-blur", "egan-refine", "hybrid")
        for gate in GATE_CANDIDATES
        for confidence in CONFIDENCE_CANDIDATES
        for compare in (False, True)
    ]
    best = choose_constrained(searched)
    chosen = best.to_dict()
    admissible = [setting for setting in searched if setting.admissible]
    kernel_size, kernel_rate = stored["refine_kernel"]
    config = DefenseConfig(
        refine_steps=best_steps,
        refine_learning_rate=float(refine_rate),
        refine_kernel_size=int(kernel_size),
        refine_kernel_learning_rate=float(kernel_rate),
        wiener_noise_to_signal=float(best_wiener.split()[1]),
        gate_length=chosen["gate_length"],
        gated_restorer=chosen["restorer"],
        gate_confidence=chosen["gate_confidence"],
        gate_compare=chosen["gate_compare"],
        hybrid_weight=best_weight,
        hybrid_restorer=hybrid_restorer,
    )

    def method_means(reader: str) -> dict[str, float]:
        """Every method's mean accuracy when read by `reader` ("proxy": the
        stand-ins, "c": the shipped networks)."""
        return {
            "none": mean(correct("none", reader)),
            "egan-blur": mean(correct("egan-blur", reader)),
            "egan-refine": mean(correct(refine_view, reader)),
            "gated": mean(
                gated_correct(
                    chosen["restorer"],
                    chosen["gate_length"],
                    chosen["gate_confidence"],
                    chosen["gate_compare"],
                    reader,
                )
            ),
            "wiener": mean(correct(best_wiener, reader)),
            "augment": mean(correct("augment", reader)),
            "augment-mixture": mean(correct("mixture", reader)),
            "hybrid": mean(correct_of(restorer_answers("hybrid", reader))),
        }

    by_stand_ins = method_means("proxy")
    adaptive_method = max(by_stand_ins, key=by_stand_ins.get)
    chosen_average, chosen_lower = paired_margins(
        gated_correct(
            chosen["restorer"],
            chosen["gate_length"],
            chosen["gate_confidence"],
            chosen["gate_compare"],
        ),
        none_correct,
    )
    stand_ins = {}
    for name in STAND_INS:
        with open(os.path.join(stand_in_dir, f"{name}.json"), encoding="utf-8") as f:
            stand_ins[name] = json.load(f)
    held_out = stand_ins["classifier"]
    payload = {
        "config": config_to_dict(config),
        "adaptive_method": adaptive_method,
        "chosen_on": (
            f"{len(labels)} training images of the kept blur encoder's validation "
            f"fold (fold {held_out['held_out_fold']}), clean and blurred by the "
            "training families only (Fourier at the paper's grid at length scales "
            "1 and 6, camera shake at 2-10 px), each at read noise 0 and 0.02: "
            f"{len(stored['lengths'])} settings. Views read by stand-ins trained "
            f"on the other folds ({held_out['train_examples']} images): C' for C, "
            "C_mix' for C_mix, C_aug' for C_aug. gated: best mean among settings "
            "whose 95 % lower confidence bound of the paired difference to none "
            "is >= 0 at every setting. adaptive_method: best mean read by the "
            "stand-ins."
        ),
        "stand_in_classifiers": stand_ins,
        "gated": {
            **chosen,
            "admissible_settings": len(admissible),
            "margin_by_setting": [
                {
                    "blur": str(kind),
                    "noise": float(noise),
                    "length": float(length),
                    "angle": float(angle),
                    "margin": float(average),
                    "lower_bound": float(lower),
                }
                for kind, noise, length, angle, average, lower in zip(
                    stored["kinds"],
                    stored["noises"],
                    stored["lengths"],
                    stored["angles"],
                    chosen_average,
                    chosen_lower,
                    strict=True,
                )
            ],
        },
        "mean_accuracy_read_by_stand_ins": {
            **by_stand_ins,
            "wiener, by K": wiener,
            "egan-refine, by rate and steps": refine,
            "hybrid, by restorer and weight": {
                f"{restorer} {weight:g}": value
                for (restorer, weight), value in hybrid.items()
            },
        },
        "mean_accuracy_read_by_shipped_networks": method_means("c"),
        "gated_search": [setting.to_dict() for setting in searched],
    }
    write_json_atomically(output, payload)
    click.echo(json.dumps(config_to_dict(config)))
    click.echo(json.dumps(chosen, indent=1))
    click.echo(json.dumps(by_stand_ins, indent=1))


if __name__ == "__main__":
    main()
