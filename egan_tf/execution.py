"""How a command runs: on which devices, at which precision, compiled or not.

These records import no TensorFlow, so that a command can build and check
them before TensorFlow starts.
"""

from __future__ import annotations

import dataclasses
import enum
import json

# The environment variable that describes a multi-worker cluster.
TF_CONFIG = "TF_CONFIG"


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


def check_tf_config(text: str | None) -> dict:
    """Parses `TF_CONFIG` as the multi-worker strategy reads it.

    Raises:
        ValueError: One line saying what is missing or malformed.
    """
    if not text:
        raise ValueError(
            "--strategy multiworker reads the cluster from the TF_CONFIG "
            'environment variable, e.g. {"cluster": {"worker": ["host1:12345", '
            '"host2:12345"]}, "task": {"type": "worker", "index": 0}}. '
            "Received: TF_CONFIG unset"
        )
    try:
        config = json.loads(text)
        workers = config["cluster"]["worker"]
        task = config["task"]
        task_type, index = task["type"], int(task["index"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValueError(
            "TF_CONFIG must be JSON with cluster.worker (a list of host:port) "
            f"and task.type and task.index. Received: TF_CONFIG={text!r}"
        ) from None
    members = config["cluster"].get(task_type, [])
    if not isinstance(workers, list) or not 0 <= index < len(members):
        raise ValueError(
            f"TF_CONFIG's task {task_type} {index} is not in its cluster. "
            f"Received: TF_CONFIG={text!r}"
        )
    return config
