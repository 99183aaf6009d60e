"""`LocalClient`: the same requests run in-process on an exported SavedModel,
and the folder of versions it reads."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from egan_tf.export.contract import SAVED_MODEL_FILE, Signature, existing_versions
from egan_tf.serving.client import ServingError, check_input_keys, typed_outputs


class LocalClient:
    """The same request run in-process on an exported SavedModel directory."""

    def __init__(self, saved_model_dir: str):
        import tensorflow as tf

        if not os.path.isfile(os.path.join(saved_model_dir, SAVED_MODEL_FILE)):
            raise ServingError(f"No SavedModel found in {saved_model_dir}")
        self.saved_model_dir = saved_model_dir
        self._loaded = tf.saved_model.load(saved_model_dir)

    def predict(
        self, signature: Signature, inputs: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        import tensorflow as tf

        check_input_keys(signature, inputs)
        if str(signature) not in self._loaded.signatures:
            raise ServingError(
                f"{self.saved_model_dir} has no signature {signature}. "
                f"Received: signatures={sorted(self._loaded.signatures)}"
            )
        function = self._loaded.signatures[str(signature)]
        tensors = {
            key: tf.constant(np.asarray(value, np.float32))
            for key, value in inputs.items()
        }
        try:
            outputs = function(**tensors)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as error:
            raise ServingError(
                f"{signature} refused the request: {_error_summary(error)}"
            ) from error
        return typed_outputs(
            signature, {key: value.numpy() for key, value in outputs.items()}
        )


_TENSORFLOW_ERROR_BOILERPLATE = (
    "Graph execution error",
    "Detected at node",
    "<stack traces unavailable>",
    "[[",
)


def _error_summary(error: Exception) -> str:
    """The line of a TensorFlow error that says what was wrong.

    Eager errors wrap the op's message in lines about graph execution and
    the failing node; the op's own message is the first other line.
    """
    message = getattr(error, "message", None) or str(error)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for line in lines:
        if not line.startswith(_TENSORFLOW_ERROR_BOILERPLATE):
            return line
    return lines[0] if lines else type(error).__name__


def latest_version_dir(root: str) -> str:
    """`root` itself when it holds a SavedModel, else its highest integer version.

    Raises:
        ServingError: When neither exists.
    """
    if os.path.isfile(os.path.join(root, SAVED_MODEL_FILE)):
        return root
    versions = existing_versions(root)
    if not versions:
        raise ServingError(f"No SavedModel or version directory found in {root}")
    return os.path.join(root, str(versions[-1]))
