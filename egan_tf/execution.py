"""How a command runs: on which devices, at which precision, compiled or not.

These records import no TensorFlow, so that a command can build and check
them before TensorFlow starts.
"""

from __future__ import annotations

import dataclasses
import enum


class Precision(enum.StrEnum):
    """How the networks compute.

    FLOAT32 computes and stores in float32. BFLOAT16 computes in bfloat16 and
    keeps the variables in float32 (Keras' `mixed_bfloat16` policy); each
    network's head stays float32 (see `egan_tf.precision`).
    """

    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"

    @property
    def policy(self) -> str:
        """The Keras dtype policy of the layers that follow the precision."""
        return {"float32": "float32", "bfloat16": "mixed_bfloat16"}[self.value]


class StrategyKind(enum.StrEnum):
    """Which `tf.distribute` strategy a training loop runs under.

    DEFAULT is one device. MIRRORED is every local GPU, or every logical CPU
    device when there is no GPU. MULTIWORKER is synchronous training over the
    machines `TF_CONFIG` names, each with its local devices.
    """

    DEFAULT = "default"
    MIRRORED = "mirrored"
    MULTIWORKER = "multiworker"


@dataclasses.dataclass(frozen=True)
class ExecutionConfig:
    """How a training run executes; written beside its checkpoints.

    Attributes:
        strategy: The distribution strategy.
        precision: The networks' compute precision.
        jit: Compile the train step with XLA (`jit_compile=True`).
    """

    strategy: StrategyKind = StrategyKind.DEFAULT
    precision: Precision = Precision.FLOAT32
    jit: bool = False

    def __post_init__(self):
        for name, kind in (("strategy", StrategyKind), ("precision", Precision)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                raise ValueError(
                    f"{name} must be one of {', '.join(kind)}. Received: {name}={value!r}"
                ) from None
