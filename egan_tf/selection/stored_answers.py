"""The held-out answers read as each method's correctness, for any setting.

`egan_tf.selection.held_out` stores, for every view of the held-out images
(none, egan-blur, the refinements, Wiener at each K, C_aug, C_mix), the log
probabilities the stand-ins and the shipped networks give. Every defence the
choice compares is a function of these: the hybrid a weighted sum of two
views, `gated` a per-image switch between `none` and a restoration. This
module computes those correctness matrices once each, so that the search in
`choice.py` costs NumPy only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from egan_tf.selection.statistics import routed_correct

# The readers of the stored answers: the stand-ins, and the shipped networks.
STAND_IN_READER = "proxy"
SHIPPED_READER = "c"


@dataclasses.dataclass(frozen=True)
class GateSetting:
    """One candidate of `gated`: which restoration, and when C's own answer
    on the image is kept instead (see `DefenseConfig`)."""

    restorer: str
    gate_length: float
    gate_confidence: float | None
    gate_compare: bool


class StoredAnswers:
    """The held-out answers, with the derived matrices computed once each.

    `log_probabilities` are float32 [settings, images, classes]; `correct`
    matrices are bool [settings, images].
    """

    def __init__(self, answers: Mapping[str, np.ndarray]):
        self.answers = answers
        self.labels = answers["labels"]
        self.estimated_length = answers["estimated_length"].astype(np.float32)
        self._log_probabilities: dict[tuple[str, str], np.ndarray] = {}

    def views(self) -> list[str]:
        return sorted({name.split("/")[0] for name in self.answers if "/" in name})

    def log_probabilities(self, view: str, reader: str) -> np.ndarray:
        key = (view, reader)
        if key not in self._log_probabilities:
            self._log_probabilities[key] = self.answers[f"{view}/{reader}"].astype(
                np.float32
            )
        return self._log_probabilities[key]

    def correct_of(self, log_probabilities: np.ndarray) -> np.ndarray:
        return log_probabilities.argmax(-1) == self.labels

    def correct(self, view: str, reader: str = STAND_IN_READER) -> np.ndarray:
        return self.correct_of(self.log_probabilities(view, reader))


def _top_probability(log_probabilities: np.ndarray) -> np.ndarray:
    return np.exp(log_probabilities.max(-1))


@dataclasses.dataclass(frozen=True)
class Restorers:
    """The restorations chosen before `gated`: the refined view's name, and
    the hybrid's restoration and weight."""

    views: Mapping[str, str]
    hybrid_restorer: str
    hybrid_weight: float

    def log_probabilities(
        self, answers: StoredAnswers, restorer: str, reader: str
    ) -> np.ndarray:
        if restorer == "hybrid":
            return hybrid_log_probabilities(
                answers, self.views[self.hybrid_restorer], self.hybrid_weight, reader
            )
        return answers.log_probabilities(self.views[restorer], reader)


def hybrid_log_probabilities(answers, view: str, weight: float, reader: str):
    """C_mix's log probabilities on the image plus `weight` times C's on
    `view`: float32 [settings, images, classes], not normalised."""
    return answers.log_probabilities("mixture", reader) + weight * (
        answers.log_probabilities(view, reader)
    )


@dataclasses.dataclass(frozen=True)
class Route:
    """What every gate of one restorer compares, computed once per restorer
    and reader (the gates differ only in thresholds): bool correctness and
    float32 top probabilities, [settings, images]."""

    plain_correct: np.ndarray
    restored_correct: np.ndarray
    plain_confidence: np.ndarray
    restored_confidence: np.ndarray


class Gates:
    """`gated`'s correctness for any setting, from the stored answers."""

    def __init__(self, answers: StoredAnswers, restorers: Restorers):
        self.answers = answers
        self.restorers = restorers
        self._routes: dict[tuple[str, str], Route] = {}

    def _route(self, restorer: str, reader: str) -> Route:
        key = (restorer, reader)
        if key not in self._routes:
            plain = self.answers.log_probabilities("none", reader)
            restored = self.restorers.log_probabilities(self.answers, restorer, reader)
            # The hybrid's sum is not a normalised distribution; renormalise.
            normalised = restored - np.logaddexp.reduce(
                restored, axis=-1, keepdims=True
            )
            self._routes[key] = Route(
                self.answers.correct_of(plain),
                self.answers.correct_of(restored),
                _top_probability(plain),
                _top_probability(normalised),
            )
        return self._routes[key]

    def correct(self, setting: GateSetting, reader: str = STAND_IN_READER):
        route = self._route(setting.restorer, reader)
        keep = self.answers.estimated_length < setting.gate_length
        if setting.gate_confidence is not None:
            keep = keep | (route.plain_confidence >= setting.gate_confidence)
        if setting.gate_compare:
            keep = keep | (route.plain_confidence >= route.restored_confidence)
        return routed_correct(keep, route.plain_correct, route.restored_correct)
