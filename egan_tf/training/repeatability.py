"""Whether a train step gives the same variables, bit for bit, every time it is
called from one state: the check behind resume being exact (README, "More
devices, more machines")."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import keras
import numpy as np


@dataclasses.dataclass(frozen=True)
class VariableDifference:
    """How one variable ended after a call, against the first call.

    Attributes:
        path: The variable's path, e.g. `generator/project/kernel`.
        count: How many of its values differ.
        largest: The largest absolute difference.
    """

    path: str
    count: int
    largest: float


@dataclasses.dataclass(frozen=True)
class CallDifference:
    """A call whose variables differ from the first call's.

    Attributes:
        call: The call's number, from 1 (call 0 is the reference).
        variables: The variables that differ.
    """

    call: int
    variables: tuple[VariableDifference, ...]


def differing_calls(
    step: Callable[[], object], variables: Sequence[keras.Variable], calls: int
) -> list[CallDifference]:
    """Calls `step` `calls` times, each time from the state `variables` hold
    now, and returns the calls that end with other values than the first.

    Args:
        step: Runs one train step on fixed inputs (batch, seed) and updates
            `variables`; its return value is ignored.
        variables: Every variable the step reads or writes, including the
            optimizers' slots and iteration counts and the seed generators'
            states, so that each call starts where the first did.
        calls: How many calls, at least 2. TensorFlow's executor changes the
            order in which it runs cheap kernels after some tens of calls, so
            a check of ordering faults needs a few hundred.

    Returns:
        One record per call, from call 1, whose variables differ from call
        0's in any bit; empty when the step is repeatable.
    """
    if calls < 2:
        raise ValueError(f"calls must be at least 2. Received: calls={calls}")
    start = [variable.numpy() for variable in variables]

    def call() -> list[np.ndarray]:
        for variable, value in zip(variables, start, strict=True):
            variable.assign(value)
        step()
        return [variable.numpy() for variable in variables]

    first = call()
    differences = []
    for number in range(1, calls):
        changed = tuple(
            VariableDifference(
                variable.path,
                int(np.sum(new != old)),
                float(np.max(np.abs(new.astype(np.float64) - old))),
            )
            for variable, new, old in zip(variables, call(), first, strict=True)
            if not np.array_equal(new, old)
        )
        if changed:
            differences.append(CallDifference(number, changed))
    return differences
