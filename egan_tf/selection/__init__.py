"""Choosing settings on held-out training images, never on the test set.

`statistics` and `config` are NumPy only; `held_out` (the candidates'
answers), `choice` (the defence settings from those answers) and
`bf16_margin` are imported by their full names.
"""

from egan_tf.selection.config import (
    Bfloat16MarginConfig,
    DefenseSearchConfig,
    HeldOutConfig,
    StandIn,
)
from egan_tf.selection.statistics import (
    CONFIDENCE_Z,
    ScoredSetting,
    choose_constrained,
    fewest_steps_within,
    paired_margins,
    routed_correct,
    score_setting,
)

__all__ = [
    "CONFIDENCE_Z",
    "Bfloat16MarginConfig",
    "DefenseSearchConfig",
    "HeldOutConfig",
    "ScoredSetting",
    "StandIn",
    "choose_constrained",
    "fewest_steps_within",
    "paired_margins",
    "routed_correct",
    "score_setting",
]
