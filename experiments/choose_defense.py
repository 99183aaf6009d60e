"""Chooses the settings of the beyond-the-paper defences on held-out training
images, never on the test set, and writes them to saved_models/defense.json.

It reads the answers that `collect_held_out.py` stored for every candidate
setting on the validation fold of the kept blur encoder, clean and blurred at
the paper's grid at length scales 1 and 6 (41 settings).

Who reads the images matters. The shipped C trained on these very images, so
its accuracy on them is not its accuracy on new images, and "does C read this
image better before or after restoration?" is the question `gated` asks. The
comparisons below therefore read every view with C', a stand-in with C's
architecture and schedule that never saw the fold
(`train_selection_classifier.py`). The settings chosen are then used with the
shipped C.

* Wiener's K maximises the mean accuracy of `wiener` (B's estimate).
* The refinement takes the fewest steps whose mean accuracy is within
  REFINE_STEP_TOLERANCE of the best (each step costs as much as the first).
* `gated` must not be below `none` anywhere, so it is chosen as a constrained
  problem, not by its mean: a setting is admissible when, at every one of the
  41 blur settings, the 95 % lower confidence bound of its paired accuracy
  difference to `none` is at least 0. A setting that routes no image of a blur
  setting differs from `none` there by exactly 0 and passes; one that routes
  images where the restoration's gain is not clearly positive fails. Among
  admissible settings the best mean wins; if none is admissible, the best
  worst-case bound.
* The method with the best mean accuracy (the oracle excluded) becomes
  `adaptive_method`, the defence behind the exported `defend_adaptive`
  signature. C_aug has no stand-in, so this comparison uses the shipped
  networks, which flatters `none` and `augment` alike.

    python experiments/choose_defense.py --answers runs/selection/held_out.npz
"""

from __future__ import annotations

import functools
import json

import click

GATE_CANDIDATES = (
    0.04, 0.06, 0.08, 0.1, 0.12, 0.13, 0.14, 0.15, 0.16, 0.18, 0.2, 0.25,
)  # fmt: skip
CONFIDENCE_CANDIDATES = (None, 0.99, 0.999)
REFINE_STEP_TOLERANCE = 0.001


@click.command()
@click.option("--answers", default="runs/selection/held_out.npz", show_default=True)
@click.option(
    "--selection-card",
    default="runs/selection/classifier.json",
    show_default=True,
    help="The stand-in C's card, quoted in defense.json.",
)
@click.option("--output", default="saved_models/defense.json", show_default=True)
def main(answers, selection_card, output):
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
    def correct(view: str, reader: str = "proxy") -> np.ndarray:
        """bool [settings, images]: whether `reader` labels `view` right."""
        return stored[f"{view}/{reader}"] == labels

    def mean(matrix: np.ndarray) -> float:
        return float(matrix.mean())

    views = [name[: -len("/proxy")] for name in stored if name.endswith("/proxy")]
    wiener_views = [view for view in views if view.startswith("wiener ")]
    refine_views = [view for view in views if view.startswith("refine ")]
    wiener = {view: mean(correct(view)) for view in wiener_views}
    refine = {view: mean(correct(view)) for view in refine_views}
    best_wiener = max(wiener, key=wiener.get)
    rates = sorted({view.split()[1] for view in refine_views})
    best_rate = max(
        rates,
        key=lambda rate: max(v for k, v in refine.items() if k.split()[1] == rate),
    )
    at_rate = {
        int(view.split()[2]): value
        for view, value in refine.items()
        if view.split()[1] == best_rate
    }
    best_steps = fewest_steps_within(at_rate, REFINE_STEP_TOLERANCE)
    refine_view = f"refine {best_rate} {best_steps}"

    none_correct = correct("none")
    estimated_length = stored["estimated_length"].astype(np.float32)

    def gated_correct(restorer_view, gate, confidence, compare, reader="proxy"):
        keep = estimated_length < gate
        if confidence is not None:
            keep = keep | (stored[f"none/{reader}_confidence"] >= confidence)
        if compare:
            keep = keep | (
                stored[f"none/{reader}_confidence"]
                >= stored[f"{restorer_view}/{reader}_confidence"]
            )
        return routed_correct(
            keep, correct("none", reader), correct(restorer_view, reader)
        )

    restorers = {"egan-blur": "egan-blur", "egan-refine": refine_view}
    searched = [
        score_setting(
            {
                "restorer": restorer,
                "gate_length": gate,
                "gate_confidence": confidence,
                "gate_compare": compare,
            },
            gated_correct(restorer_view, gate, confidence, compare),
            none_correct,
        )
        for restorer, restorer_view in restorers.items()
        for gate in GATE_CANDIDATES
        for confidence in CONFIDENCE_CANDIDATES
        for compare in (False, True)
    ]
    best = choose_constrained(searched)
    chosen = best.to_dict()
    admissible = [setting for setting in searched if setting.admissible]
    config = DefenseConfig(
        refine_steps=best_steps,
        refine_learning_rate=float(best_rate),
        wiener_noise_to_signal=float(best_wiener.split()[1]),
        gate_length=chosen["gate_length"],
        gated_restorer=chosen["restorer"],
        gate_confidence=chosen["gate_confidence"],
        gate_compare=chosen["gate_compare"],
    )
    chosen_view = restorers[chosen["restorer"]]
    shipped_readers = {
        "none": mean(correct("none", "c")),
        "egan-blur": mean(correct("egan-blur", "c")),
        "egan-refine": mean(correct(refine_view, "c")),
        "gated": mean(
            gated_correct(
                chosen_view,
                chosen["gate_length"],
                chosen["gate_confidence"],
                chosen["gate_compare"],
                reader="c",
            )
        ),
        "wiener": mean(correct(best_wiener, "c")),
        "augment": mean(correct("augment", "c")),
    }
    adaptive_method = max(shipped_readers, key=shipped_readers.get)
    chosen_average, chosen_lower = paired_margins(
        gated_correct(
            chosen_view,
            chosen["gate_length"],
            chosen["gate_confidence"],
            chosen["gate_compare"],
        ),
        none_correct,
    )
    with open(selection_card, encoding="utf-8") as handle:
        stand_in = json.load(handle)
    payload = {
        "config": config_to_dict(config),
        "adaptive_method": adaptive_method,
        "chosen_on": (
            f"{len(labels)} training images of the kept blur encoder's validation "
            f"fold (fold {stand_in['held_out_fold']}), clean and blurred at the "
            f"paper's grid at length scales 1 and 6: {len(stored['lengths'])} "
            "settings. Views read by the stand-in C' (trained on the other folds, "
            f"{stand_in['train_examples']} images; {stand_in['held_out_accuracy']:.2%}"
            " on the fold). gated: best mean among settings whose 95 % lower "
            "confidence bound of the paired difference to none is >= 0 at every "
            "setting."
        ),
        "stand_in_classifier": stand_in,
        "gated": {
            **chosen,
            "admissible_settings": len(admissible),
            "margin_by_setting": [
                {
                    "length": float(length),
                    "angle": float(angle),
                    "margin": float(average),
                    "lower_bound": float(lower),
                }
                for length, angle, average, lower in zip(
                    stored["lengths"],
                    stored["angles"],
                    chosen_average,
                    chosen_lower,
                    strict=True,
                )
            ],
        },
        "mean_accuracy_read_by_stand_in": {
            "none": mean(none_correct),
            "egan-blur": mean(correct("egan-blur")),
            "wiener, by K": wiener,
            "egan-refine, by rate and steps": refine,
        },
        "mean_accuracy_read_by_shipped_networks": shipped_readers,
        "gated_search": [setting.to_dict() for setting in searched],
    }
    write_json_atomically(output, payload)
    click.echo(json.dumps(config_to_dict(config)))
    click.echo(json.dumps(chosen, indent=1))
    click.echo(json.dumps(shipped_readers, indent=1))


if __name__ == "__main__":
    main()
