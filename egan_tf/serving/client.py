"""What every client of the exported defence shares: the request contract,
the server address, and the one-line error.

A client sends a signature name and named float32 inputs and returns named
NumPy outputs typed by the signature's contract
(`egan_tf.export.contract.SIGNATURES`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from egan_tf.export.contract import SERVING_MODEL_NAME, SIGNATURES, Signature

DEFAULT_TIMEOUT_SECONDS = 30.0


class ServingError(RuntimeError):
    """A request failed: no server, a refused request or a bad input. One line."""


@dataclasses.dataclass(frozen=True)
class ServerAddress:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> ServerAddress:
        """Parses `host:port`.

        Raises:
            ValueError: For text that is not `host:port` with a port in 1-65535.
        """
        host, separator, port = text.rpartition(":")
        if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"Expected HOST:PORT. Received: address={text!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclasses.dataclass(frozen=True)
class ServerTarget:
    """A model on a model server: where the server is, the model's name, the
    version to ask for (None: the newest it serves) and how long to wait."""

    address: ServerAddress
    model_name: str = SERVING_MODEL_NAME
    version: int | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS


class PredictionClient(Protocol):
    def predict(
        self, signature: Signature, inputs: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Runs one request.

        Args:
            signature: Which signature to call.
            inputs: Input key -> array, as in `SIGNATURES[signature].inputs`.

        Returns:
            Output key -> array, typed by the signature's contract.

        Raises:
            ServingError: One line saying why the request failed.
        """


def check_input_keys(signature: Signature, inputs: Mapping[str, np.ndarray]) -> None:
    """Refuses a request whose input keys are not exactly the signature's.

    Raises:
        ServingError: Naming the keys expected and received.
    """
    expected = {contract.key for contract in SIGNATURES[signature].inputs}
    if set(inputs) != expected:
        raise ServingError(
            f"Signature {signature} takes inputs {sorted(expected)}. "
            f"Received: inputs={sorted(inputs)}"
        )


def typed_outputs(
    signature: Signature, outputs: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The signature's outputs, each as an array of its contract's dtype
    (a JSON response carries no dtypes; extra keys are dropped).

    Raises:
        ServingError: When an output of the contract is missing.
    """
    typed = {}
    for contract in SIGNATURES[signature].outputs:
        if contract.key not in outputs:
            raise ServingError(
                f"The response to {signature} has no output {contract.key!r}. "
                f"Received: outputs={sorted(outputs)}"
            )
        typed[contract.key] = np.asarray(outputs[contract.key], dtype=contract.dtype)
    return typed
