"""What choosing the defence settings searches, as frozen configs (no
TensorFlow here, so that the command line can check them first)."""

from __future__ import annotations

import dataclasses
import enum
import math


class StandIn(enum.StrEnum):
    """The shipped classifiers that get a selection stand-in: one of the same
    architecture, schedule, seed and blur augmentation, trained without the
    held-out fold, so that on that fold it behaves like its original on new
    images. The value is the original's file stem."""

    CLASSIFIER = "classifier"
    CLASSIFIER_MIXTURE = "classifier_mixture"
    CLASSIFIER_AUGMENT = "classifier_augment"


def _check_positive(name: str, values) -> None:
    """Refuses an empty sequence or one holding a value that is not finite
    and > 0."""
    if not values:
        raise ValueError(f"{name} must not be empty. Received: {name}={values}")
    for value in values:
        if not (math.isfinite(value) and value > 0):
            raise ValueError(
                f"{name} must hold finite values > 0. Received: {name}={values}"
            )


@dataclasses.dataclass(frozen=True)
class HeldOutConfig:
    """Which held-out images every candidate setting is run on, and which
    candidates of the settings that cost a network run are run.

    The images are the first `examples` of the validation fold of the kept
    blur encoder (E_blur never trained on them), clean and blurred by the
    training families only: the paper's Fourier model at the paper's lengths
    at length scale 1 and at the data set's rescaled scale (at `angles`), and
    camera shake at its five strengths, each at every read-noise level of
    `noise_levels`. The out-of-distribution families are never used.

    Attributes:
        examples: How many held-out images (≥ 1); fewer when the fold is
            smaller. Two of the paper's four angles and 3,000 of the fold's
            12,000 images by default: every candidate's refinement over the
            full grid would take hours on a CPU.
        angles: θ in degrees of the Fourier settings.
        noise_levels: Read-noise standard deviations (0: no sensor model).
        seed: Seed of the shake trajectories and the noise, other than the
            test grid's (0), so that no draw repeats it.
        batch_size: Images run at once.
        wiener_candidates: The Wiener filter's K values tried.
        refine_learning_rate: The latent refinement's step size.
        refine_step_candidates: Its step counts tried (read from one path).
        refine_kernel_size: The refinement refines a K x K kernel with the
            latent. Pre-screened on MNIST's fold at four training-family
            settings: on camera shake it ends 14-20 points above the formula's
            fixed blur, on the Fourier model within 0.4 points of it.
        refine_kernel_learning_rate: Its step size on the log kernel (0.2 to 1
            were within 4 points of each other there, 0.05 clearly lower).
    """

    examples: int = 3000
    angles: tuple[float, ...] = (0.0, 45.0)
    noise_levels: tuple[float, ...] = (0.0, 0.02)
    seed: int = 1234
    batch_size: int = 500
    wiener_candidates: tuple[float, ...] = (1e-3, 1e-2, 3e-2, 1e-1)
    refine_learning_rate: float = 0.03
    refine_step_candidates: tuple[int, ...] = (10, 20)
    refine_kernel_size: int = 15
    refine_kernel_learning_rate: float = 0.2

    def __post_init__(self):
        for name in ("examples", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"{name} must be ≥ 1. Received: {name}={getattr(self, name)}"
                )
        if not self.angles or not self.noise_levels:
            raise ValueError(
                "angles and noise_levels must not be empty. Received: "
                f"angles={self.angles}, noise_levels={self.noise_levels}"
            )
        if any(
            not (math.isfinite(sigma) and sigma >= 0) for sigma in self.noise_levels
        ):
            raise ValueError(
                "noise_levels must be finite and ≥ 0. Received: "
                f"noise_levels={self.noise_levels}"
            )
        _check_positive("wiener_candidates", self.wiener_candidates)
        _check_positive("refine_step_candidates", self.refine_step_candidates)


@dataclasses.dataclass(frozen=True)
class DefenseSearchConfig:
    """The candidates `choose_defense` scores on the stored answers.

    Attributes:
        gate_lengths: `gated`'s thresholds on B's estimated length.
        gate_confidences: Its thresholds on C's top probability (None: off).
        hybrid_weights: The hybrid's weights on the restoration.
        refine_step_tolerance: Accuracy a costlier choice (more refinement
            steps, or the refined restoration in the hybrid) must buy, in
            [0, 1].
        confidence_z: Normal quantile of the paired lower bound that makes a
            `gated` setting admissible (1.96: 97.5 % one-sided).
    """

    gate_lengths: tuple[float, ...] = (
        0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2, 0.25, 0.3,
    )  # fmt: skip
    gate_confidences: tuple[float | None, ...] = (None, 0.99, 0.999)
    hybrid_weights: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    refine_step_tolerance: float = 0.001
    confidence_z: float = 1.96

    def __post_init__(self):
        _check_positive("gate_lengths", self.gate_lengths)
        _check_positive("hybrid_weights", self.hybrid_weights)
        for confidence in self.gate_confidences:
            if confidence is not None and not 0 < confidence <= 1:
                raise ValueError(
                    "gate_confidences must be None or in (0, 1]. Received: "
                    f"gate_confidences={self.gate_confidences}"
                )
        if not 0 <= self.refine_step_tolerance <= 1:
            raise ValueError(
                "refine_step_tolerance must be in [0, 1]. Received: "
                f"refine_step_tolerance={self.refine_step_tolerance}"
            )
        if not (math.isfinite(self.confidence_z) and self.confidence_z >= 0):
            raise ValueError(
                f"confidence_z must be finite and ≥ 0. Received: "
                f"confidence_z={self.confidence_z}"
            )


@dataclasses.dataclass(frozen=True)
class Bfloat16MarginConfig:
    """How the bfloat16 close-call margin is chosen.

    Attributes:
        examples: The last `examples` training images are the held-out views
            (the test set is never used).
        step: The margin is twice the largest top-two logit margin of any
            flipped answer, rounded up to a multiple of `step` (> 0).
    """

    examples: int = 2000
    step: float = 0.05

    def __post_init__(self):
        if self.examples < 1:
            raise ValueError(
                f"examples must be ≥ 1. Received: examples={self.examples}"
            )
        _check_positive("step", (self.step,))
