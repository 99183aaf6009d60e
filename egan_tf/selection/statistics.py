"""Choosing defence settings on held-out images: the statistics behind
`egan_tf.selection.choice`, as pure NumPy functions.

Every function takes "correct" matrices: bool [settings, images], whether a
method labelled each held-out image right at each blur setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from egan_tf.metrics import paired_difference

# Two-sided 95 % normal quantile, for the lower confidence bounds.
CONFIDENCE_Z = 1.96


def paired_margins(
    candidate: np.ndarray, baseline: np.ndarray, z: float = CONFIDENCE_Z
) -> tuple[np.ndarray, np.ndarray]:
    """Per blur setting, how much better `candidate` is than `baseline`.

    The comparison is paired (the same images under both methods), so only
    the images on which they disagree add variance: a candidate that labels
    every image as the baseline does has margin 0 and bound 0 exactly.

    Args:
        candidate, baseline: bool [settings, images].
        z: Normal quantile of the one-sided bound (1.96: 97.5 %, i.e. the lower
            end of a two-sided 95 % interval).

    Returns:
        (mean accuracy difference float32 [settings], in [-1, 1];
        its lower confidence bound, mean - z * standard error, float64 [settings]).

    Raises:
        ValueError: When the shapes differ or there are fewer than 2 images.
    """
    mean, lower, _ = paired_difference(candidate, baseline, z)
    return mean, lower


def routed_correct(
    keep_plain: np.ndarray, plain_correct: np.ndarray, restored_correct: np.ndarray
) -> np.ndarray:
    """Correctness of a gate: the plain answer where `keep_plain`, else the
    restored one. All three bool [settings, images]."""
    return np.where(keep_plain, plain_correct, restored_correct)


@dataclasses.dataclass(frozen=True)
class ScoredSetting:
    """One candidate setting, scored against the baseline on held-out images.

    Attributes:
        settings: What the candidate is (JSON-ready values).
        mean_accuracy: Its accuracy averaged over images and blur settings.
        worst_margin: Its smallest mean margin over the baseline at any
            blur setting.
        worst_lower_bound: Its smallest lower confidence bound of that margin.
    """

    settings: Mapping[str, object]
    mean_accuracy: float
    worst_margin: float
    worst_lower_bound: float

    @property
    def admissible(self) -> bool:
        """Whether the held-out evidence says it is nowhere below the baseline."""
        return self.worst_lower_bound >= 0

    def to_dict(self) -> dict:
        return {
            **self.settings,
            "mean_accuracy": self.mean_accuracy,
            "worst_margin": self.worst_margin,
            "worst_lower_bound": self.worst_lower_bound,
        }


def score_setting(
    settings: Mapping[str, object],
    candidate: np.ndarray,
    baseline: np.ndarray,
    z: float = CONFIDENCE_Z,
) -> ScoredSetting:
    """Scores one candidate's correct matrix against the baseline's."""
    mean, lower = paired_margins(candidate, baseline, z)
    return ScoredSetting(
        settings=dict(settings),
        mean_accuracy=float(candidate.mean()),
        worst_margin=float(mean.min()),
        worst_lower_bound=float(lower.min()),
    )


def choose_constrained(scored: Sequence[ScoredSetting]) -> ScoredSetting:
    """The best mean among admissible settings; without any, the setting whose
    worst lower bound is highest (the least evidence of a loss), and among
    settings tied on that bound the best mean.

    Raises:
        ValueError: When `scored` is empty.
    """
    if not scored:
        raise ValueError("No settings to choose from. Received: scored=[]")
    admissible = [setting for setting in scored if setting.admissible]
    if admissible:
        return max(admissible, key=lambda setting: setting.mean_accuracy)
    return max(
        scored, key=lambda setting: (setting.worst_lower_bound, setting.mean_accuracy)
    )


def fewest_steps_within(
    accuracy_by_steps: Mapping[int, float], tolerance: float
) -> int:
    """The smallest step count whose accuracy is within `tolerance` of the best.

    Every step costs as much as the first, so a step count is worth its price
    only while it still buys more than `tolerance`.

    Raises:
        ValueError: When `accuracy_by_steps` is empty or `tolerance` < 0.
    """
    if not accuracy_by_steps:
        raise ValueError("No step counts to choose from. Received: {}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be ≥ 0. Received: tolerance={tolerance}")
    best = max(accuracy_by_steps.values())
    return min(
        steps
        for steps, accuracy in accuracy_by_steps.items()
        if accuracy >= best - tolerance
    )
