"""Chooses the settings of the beyond-the-paper defences from the held-out
answers (`egan_tf.selection.held_out`), never from the test set.

The shipped classifiers trained on the held-out images, so their accuracy on
them is not their accuracy on new images. Every comparison therefore reads
the views with the stand-ins (C' for C, C_mix' for C_mix, C_aug' for C_aug);
the settings chosen are then used with the shipped networks.

* Wiener's K maximises the mean accuracy of `wiener` (B's estimate).
* The refinement takes the fewest steps whose mean accuracy is within the
  tolerance of the best (each step costs as much as the first).
* The hybrid's restoration is `egan-blur`'s unless `egan-refine`'s buys more
  than the tolerance (it costs about ten times as much); its weight maximises
  its mean accuracy.
* `gated` must not be below `none` anywhere, so it is chosen as a constrained
  problem, not by its mean: a setting is admissible when, at every blur
  setting, the lower confidence bound of its paired accuracy difference to
  `none` is at least 0. Among admissible settings the best mean wins; if none
  is admissible, the best worst-case bound (the best mean among ties).
* The method with the best mean accuracy becomes `adaptive_method`, the
  defence behind the exported `defend_adaptive` signature.

Pure NumPy: nothing here runs a network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from egan_tf.config import config_to_dict
from egan_tf.defenses.config import DefenseConfig
from egan_tf.selection.config import DefenseSearchConfig
from egan_tf.selection.statistics import (
    choose_constrained,
    fewest_steps_within,
    paired_margins,
    score_setting,
)
from egan_tf.selection.stored_answers import (
    SHIPPED_READER,
    STAND_IN_READER,
    Gates,
    GateSetting,
    Restorers,
    StoredAnswers,
    hybrid_log_probabilities,
)


@dataclasses.dataclass(frozen=True)
class _RestorerChoice:
    """What the restorations' candidates measured, and the ones chosen.

    Attributes:
        wiener: Mean accuracy by Wiener view ("wiener K").
        refine: Mean accuracy by refinement view ("refine rate steps").
        best_wiener: The Wiener view chosen.
        refine_rate: The refinement's step size, as written in its views.
        refine_steps: The fewest steps within tolerance of the best.
        hybrid: Mean accuracy by (restorer, weight) of `hybrid`.
        restorers: The restorers' views and `hybrid`'s chosen restorer and
            weight.
    """

    wiener: dict[str, float]
    refine: dict[str, float]
    best_wiener: str
    refine_rate: str
    refine_steps: int
    hybrid: dict[tuple[str, float], float]
    restorers: Restorers


def _choose_restorers(
    stored: StoredAnswers, search: DefenseSearchConfig
) -> _RestorerChoice:
    """Wiener's K, the refinement's steps and `hybrid`'s restorer and weight."""
    tolerance = search.refine_step_tolerance
    views = stored.views()

    def mean_of(view):
        return float(stored.correct(view).mean())

    wiener = {view: mean_of(view) for view in views if view.startswith("wiener ")}
    refine = {view: mean_of(view) for view in views if view.startswith("refine ")}
    refine_rate = next(iter(refine)).split()[1]
    refine_steps = fewest_steps_within(
        {int(view.split()[2]): value for view, value in refine.items()}, tolerance
    )
    restorer_views = {
        "egan-blur": "egan-blur",
        "egan-refine": f"refine {refine_rate} {refine_steps}",
    }
    hybrid = {
        (restorer, weight): float(
            stored.correct_of(
                hybrid_log_probabilities(stored, view, weight, STAND_IN_READER)
            ).mean()
        )
        for restorer, view in restorer_views.items()
        for weight in search.hybrid_weights
    }
    best_by_restorer = {
        restorer: max(value for (name, _), value in hybrid.items() if name == restorer)
        for restorer in restorer_views
    }
    hybrid_restorer = (
        "egan-refine"
        if best_by_restorer["egan-refine"] > best_by_restorer["egan-blur"] + tolerance
        else "egan-blur"
    )
    return _RestorerChoice(
        wiener=wiener,
        refine=refine,
        best_wiener=max(wiener, key=wiener.get),
        refine_rate=refine_rate,
        refine_steps=refine_steps,
        hybrid=hybrid,
        restorers=Restorers(
            restorer_views,
            hybrid_restorer,
            max(search.hybrid_weights, key=lambda w: hybrid[(hybrid_restorer, w)]),
        ),
    )


def _search_gates(
    gates: Gates, none_correct: np.ndarray, search: DefenseSearchConfig
) -> list:
    """Every `GateSetting` of the search, scored against `none`."""
    return [
        score_setting(
            dataclasses.asdict(setting),
            gates.correct(setting),
            none_correct,
            search.confidence_z,
        )
        for setting in (
            GateSetting(restorer, gate, confidence, compare)
            for restorer in ("egan-blur", "egan-refine", "hybrid")
            for gate in search.gate_lengths
            for confidence in search.gate_confidences
            for compare in (False, True)
        )
    ]


def _method_means(
    stored: StoredAnswers,
    gates: Gates,
    chosen: GateSetting,
    choice: _RestorerChoice,
    reader: str,
) -> dict[str, float]:
    """Each method's mean accuracy at the chosen settings, read by `reader`."""

    def mean(correct):
        return float(correct.mean())

    restorers = choice.restorers
    return {
        "none": mean(stored.correct("none", reader)),
        "egan-blur": mean(stored.correct("egan-blur", reader)),
        "egan-refine": mean(stored.correct(restorers.views["egan-refine"], reader)),
        "gated": mean(gates.correct(chosen, reader)),
        "wiener": mean(stored.correct(choice.best_wiener, reader)),
        "augment": mean(stored.correct("augment", reader)),
        "augment-mixture": mean(stored.correct("mixture", reader)),
        "hybrid": mean(
            stored.correct_of(restorers.log_probabilities(stored, "hybrid", reader))
        ),
    }


def _margin_by_setting(
    answers: Mapping[str, np.ndarray], margins: np.ndarray, lower_bounds: np.ndarray
) -> list[dict]:
    """The chosen gate's margin over `none` at every held-out blur setting."""
    return [
        {
            "blur": str(kind),
            "noise": float(noise),
            "length": float(length),
            "angle": float(angle),
            "margin": float(margin),
            "lower_bound": float(lower),
        }
        for kind, noise, length, angle, margin, lower in zip(
            answers["kinds"],
            answers["noises"],
            answers["lengths"],
            answers["angles"],
            margins,
            lower_bounds,
            strict=True,
        )
    ]


def choose_defense(
    answers: Mapping[str, np.ndarray],
    stand_in_cards: Mapping[str, dict],
    search: DefenseSearchConfig | None = None,
) -> dict:
    """Chooses every setting of `DefenseConfig` from the held-out answers.

    Args:
        answers: The stored answers (`held_out.collect_answers`).
        stand_in_cards: The stand-ins' model cards, by shipped file stem;
            quoted in the record, with the held-out fold they name.
        search: The candidates (`DefenseSearchConfig()` if None).

    Returns:
        The record written as `defense.json`: "config" (a `DefenseConfig`),
        "adaptive_method", how and on what it was chosen, the `gated`
        search with its margin at every blur setting, and every method's
        mean accuracy read by the stand-ins and by the shipped networks.
    """
    search = search or DefenseSearchConfig()
    stored = StoredAnswers(answers)
    choice = _choose_restorers(stored, search)
    restorers = choice.restorers
    gates = Gates(stored, restorers)
    none_correct = stored.correct("none")
    searched = _search_gates(gates, none_correct, search)
    best = choose_constrained(searched)
    chosen = GateSetting(**best.settings)
    kernel_size, kernel_rate = answers["refine_kernel"]
    config = DefenseConfig(
        refine_steps=choice.refine_steps,
        refine_learning_rate=float(choice.refine_rate),
        refine_kernel_size=int(kernel_size),
        refine_kernel_learning_rate=float(kernel_rate),
        wiener_noise_to_signal=float(choice.best_wiener.split()[1]),
        gate_length=chosen.gate_length,
        gated_restorer=chosen.restorer,
        gate_confidence=chosen.gate_confidence,
        gate_compare=chosen.gate_compare,
        hybrid_weight=restorers.hybrid_weight,
        hybrid_restorer=restorers.hybrid_restorer,
    )
    by_stand_ins = _method_means(stored, gates, chosen, choice, STAND_IN_READER)
    margins, lower_bounds = paired_margins(
        gates.correct(chosen), none_correct, search.confidence_z
    )
    return {
        "config": config_to_dict(config),
        "adaptive_method": max(by_stand_ins, key=by_stand_ins.get),
        "chosen_on": _chosen_on(answers, stand_in_cards, search.confidence_z),
        "search": config_to_dict(search),
        "stand_in_classifiers": dict(stand_in_cards),
        "gated": {
            **best.to_dict(),
            "admissible_settings": sum(setting.admissible for setting in searched),
            "margin_by_setting": _margin_by_setting(answers, margins, lower_bounds),
        },
        "mean_accuracy_read_by_stand_ins": {
            **by_stand_ins,
            "wiener, by K": choice.wiener,
            "egan-refine, by rate and steps": choice.refine,
            "hybrid, by restorer and weight": {
                f"{restorer} {weight:g}": value
                for (restorer, weight), value in choice.hybrid.items()
            },
        },
        "mean_accuracy_read_by_shipped_networks": _method_means(
            stored, gates, chosen, choice, SHIPPED_READER
        ),
        "gated_search": [setting.to_dict() for setting in searched],
    }


def _chosen_on(answers: Mapping[str, np.ndarray], stand_in_cards, z: float) -> str:
    card = next(iter(stand_in_cards.values()), {})
    kinds = sorted({str(kind) for kind in answers["kinds"]})
    noises = sorted({float(noise) for noise in answers["noises"]})
    return (
        f"{len(answers['labels'])} training images of the kept blur encoder's "
        f"validation fold (fold {card.get('held_out_fold')}), clean and blurred by "
        f"the training families only ({', '.join(kinds)}), each at read noise "
        f"{', '.join(f'{noise:g}' for noise in noises)}: "
        f"{len(answers['lengths'])} settings. Views read by stand-ins trained on "
        f"the other folds ({card.get('train_examples')} images): C' for C, C_mix' "
        "for C_mix, C_aug' for C_aug. gated: best mean among settings whose "
        f"lower confidence bound (mean - {z:g} standard errors) of the paired "
        "difference to none is >= 0 at every setting. adaptive_method: best "
        "mean read by the stand-ins."
    )
