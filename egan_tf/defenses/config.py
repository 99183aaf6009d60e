"""`DefenseConfig`, the settings of the methods, and `defense.json`, where the
shipped settings are written (no TensorFlow here)."""

from __future__ import annotations

import dataclasses
import json
import math
import os

from egan_tf.config import KERNEL_SIZE, config_from_dict
from egan_tf.defenses.names import GATED_RESTORERS, HYBRID_RESTORERS, Method
from egan_tf.errors import ModelFileError

DEFENSE_CONFIG_FILE = "defense.json"


@dataclasses.dataclass(frozen=True)
class DefenseConfig:
    """Settings of the methods that have any.

    The defaults are the shipped values of `saved_models/defense.json`, chosen
    on training images the kept blur encoder never trained on, never on the
    test set, by `reproduce --stages defense` (a test keeps the two equal).

    Attributes:
        refine_steps: Adam steps on the latent in `egan-refine`.
        refine_learning_rate: Their step size.
        refine_kernel_size: 0: the refinement models the blur as B's (l, θ)
            through the paper's formula, fixed. Otherwise K (odd, 3 to 27):
            it refines a K x K point-spread function with the latent, started
            from that formula's streak, so that blur (l, θ) cannot describe
            (camera shake, a fading trail) is modelled too.
        refine_kernel_learning_rate: The Adam step size on the log kernel.
        wiener_noise_to_signal: K of the Wiener filter.
        gate_length: `gated` sends an image straight to C when B estimates
            its blur length below this (a fraction of the image side).
        gated_restorer: What `gated` does with the other images: the
            `egan-blur`, the `egan-refine` or the `hybrid` path.
        gate_confidence: When set, `gated` also keeps C's answer for an image
            B finds blurred if C is at least this sure of it (its top softmax
            probability), since a confident C is rarely wrong on mild blur.
        gate_compare: When true, `gated` keeps C's answer for an image B finds
            blurred unless the restored image's answer is more confident
            (higher top softmax probability) than C's on the image itself.
        hybrid_weight: The weight (> 0) of C's log probabilities on G's
            restoration in `hybrid`, relative to C_mix's on the image.
        hybrid_restorer: Where that restoration comes from: `egan-blur` or
            `egan-refine`.
    """

    refine_steps: int = 20
    refine_learning_rate: float = 0.03
    refine_kernel_size: int = 15
    refine_kernel_learning_rate: float = 0.2
    wiener_noise_to_signal: float = 0.01
    gate_length: float = 0.18
    gated_restorer: Method = Method.HYBRID
    gate_confidence: float | None = None
    gate_compare: bool = False
    hybrid_weight: float = 0.25
    hybrid_restorer: Method = Method.EGAN_REFINE

    def __post_init__(self):
        if self.refine_steps < 0:
            raise ValueError(
                f"refine_steps must be ≥ 0. Received: refine_steps={self.refine_steps}"
            )
        size = self.refine_kernel_size
        if size != 0 and not (size % 2 == 1 and 3 <= size <= KERNEL_SIZE):
            raise ValueError(
                f"refine_kernel_size must be 0 or odd in [3, {KERNEL_SIZE}]. "
                f"Received: refine_kernel_size={size}"
            )
        rate = self.refine_kernel_learning_rate
        if not (math.isfinite(rate) and rate >= 0):
            raise ValueError(
                "refine_kernel_learning_rate must be finite and ≥ 0. "
                f"Received: refine_kernel_learning_rate={rate}"
            )
        if self.gated_restorer not in GATED_RESTORERS:
            raise ValueError(
                "gated_restorer must be "
                f"{', '.join(str(method) for method in GATED_RESTORERS)}. "
                f"Received: gated_restorer={self.gated_restorer}"
            )
        if self.hybrid_restorer not in HYBRID_RESTORERS:
            raise ValueError(
                "hybrid_restorer must be "
                f"{', '.join(str(method) for method in HYBRID_RESTORERS)}. "
                f"Received: hybrid_restorer={self.hybrid_restorer}"
            )
        # Read from JSON as strings; kept as the enum members.
        object.__setattr__(self, "gated_restorer", Method(self.gated_restorer))
        object.__setattr__(self, "hybrid_restorer", Method(self.hybrid_restorer))
        if not self.wiener_noise_to_signal > 0:
            raise ValueError(
                "wiener_noise_to_signal must be positive. "
                f"Received: wiener_noise_to_signal={self.wiener_noise_to_signal}"
            )
        if not (math.isfinite(self.hybrid_weight) and self.hybrid_weight > 0):
            raise ValueError(
                "hybrid_weight must be positive and finite. "
                f"Received: hybrid_weight={self.hybrid_weight}"
            )


def load_defense_file(models_dir: str) -> tuple[DefenseConfig, Method | None]:
    """The settings and the `adaptive_method` of `defense.json` in
    `models_dir`; the defaults and None when there is no such file.

    Raises:
        ModelFileError: When the file exists but does not describe a config.
    """
    path = os.path.join(models_dir, DEFENSE_CONFIG_FILE)
    if not os.path.isfile(path):
        return DefenseConfig(), None
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
        config = config_from_dict(DefenseConfig, payload["config"])
        method = payload.get("adaptive_method")
        return config, None if method is None else Method(method)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"Cannot read {path}: {error}") from error


def load_defense_config(models_dir: str) -> DefenseConfig:
    """The `config` object of `defense.json` in `models_dir`, or the defaults.

    Raises:
        ModelFileError: When the file exists but does not describe a config.
    """
    return load_defense_file(models_dir)[0]
