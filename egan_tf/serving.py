"""Clients of the exported defence: TF Serving over REST or gRPC, or in-process.

All three send the same request (a signature name and named float32 inputs)
and return the same thing (named NumPy outputs, typed by the signature's
contract in `egan_tf.export.contract.SIGNATURES`), so a program can switch between a
model server and a local SavedModel with one argument:

    client = RestClient(ServerAddress.parse("localhost:8501"))
    outputs = client.predict(Signature.SERVING_DEFAULT, {"images": images})
    outputs["label"]  # int64 [batch]

Nothing here runs a model server; see the README for the docker command.
"""

from __future__ import annotations

import dataclasses
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from egan_tf.export.contract import (
    SAVED_MODEL_FILE,
    SERVING_MODEL_NAME,
    SIGNATURES,
    Signature,
    existing_versions,
)

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


def _check_input_keys(signature: Signature, inputs: Mapping[str, np.ndarray]) -> None:
    expected = {contract.key for contract in SIGNATURES[signature].inputs}
    if set(inputs) != expected:
        raise ServingError(
            f"Signature {signature} takes inputs {sorted(expected)}. "
            f"Received: inputs={sorted(inputs)}"
        )


def _typed_outputs(
    signature: Signature, outputs: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    typed = {}
    for contract in SIGNATURES[signature].outputs:
        if contract.key not in outputs:
            raise ServingError(
                f"The response to {signature} has no output {contract.key!r}. "
                f"Received: outputs={sorted(outputs)}"
            )
        typed[contract.key] = np.asarray(outputs[contract.key], dtype=contract.dtype)
    return typed


def rest_request_body(
    signature: Signature, inputs: Mapping[str, np.ndarray]
) -> dict[str, object]:
    """The JSON body of a REST predict request, in the row ("instances") format.

    Each instance is an object from input key to that example's value, which
    the model server accepts for one input as for several.
    """
    _check_input_keys(signature, inputs)
    arrays = {key: np.asarray(value, np.float32) for key, value in inputs.items()}
    batch_sizes = {len(array) for array in arrays.values()}
    if len(batch_sizes) != 1:
        raise ServingError(
            "Every input needs one value per example. Received: "
            + ", ".join(f"{key}={len(array)}" for key, array in arrays.items())
        )
    (batch_size,) = batch_sizes
    body: dict[str, object] = {
        "instances": [
            {key: array[index].tolist() for key, array in arrays.items()}
            for index in range(batch_size)
        ]
    }
    if signature != Signature.SERVING_DEFAULT:
        body["signature_name"] = str(signature)
    return body


def parse_rest_response(
    signature: Signature, response: Mapping[str, object]
) -> dict[str, np.ndarray]:
    """Turns a REST predict response (row format) into named arrays.

    The model server writes one object per example from output key to value,
    or, for a signature with a single output, the bare values.
    """
    if "error" in response:
        raise ServingError(f"The model server refused the request: {response['error']}")
    rows = response.get("predictions")
    if not isinstance(rows, list):
        raise ServingError(
            f"The response has no 'predictions' list. Received: keys={sorted(response)}"
        )
    contracts = SIGNATURES[signature].outputs
    if len(contracts) == 1 and not (rows and isinstance(rows[0], dict)):
        return _typed_outputs(signature, {contracts[0].key: rows})
    keys = set(rows[0]) if rows else {contract.key for contract in contracts}
    return _typed_outputs(
        signature, {key: [row.get(key) for row in rows] for key in keys}
    )


@dataclasses.dataclass(frozen=True)
class RestClient:
    """TF Serving's REST API: `POST /v1/models/<name>[/versions/<v>]:predict`."""

    address: ServerAddress
    model_name: str = SERVING_MODEL_NAME
    version: int | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def url(self) -> str:
        version = f"/versions/{self.version}" if self.version is not None else ""
        return f"http://{self.address}/v1/models/{self.model_name}{version}:predict"

    def predict(
        self, signature: Signature, inputs: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        data = json.dumps(rest_request_body(signature, inputs)).encode("utf-8")
        request = urllib.request.Request(
            self.url, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as reply:
                response = json.loads(reply.read())
        except urllib.error.HTTPError as error:
            raise ServingError(
                f"{self.url} answered HTTP {error.code}: {_rest_error_text(error)}"
            ) from error
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ServingError(f"Cannot reach {self.url}: {reason}") from error
        except json.JSONDecodeError as error:
            raise ServingError(f"{self.url} did not answer JSON: {error}") from error
        return parse_rest_response(signature, response)


def _rest_error_text(error: urllib.error.HTTPError) -> str:
    body = error.read().decode("utf-8", errors="replace")
    try:
        text = json.loads(body).get("error", body)
    except (json.JSONDecodeError, AttributeError):
        text = body
    return " ".join(str(text).split())


def grpc_predict_request(
    signature: Signature,
    inputs: Mapping[str, np.ndarray],
    model_name: str = SERVING_MODEL_NAME,
    version: int | None = None,
):
    """A `tensorflow.serving.PredictRequest` protocol buffer for the request."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    _check_input_keys(signature, inputs)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = str(signature)
    if version is not None:
        request.model_spec.version.value = version
    for key, value in inputs.items():
        request.inputs[key].CopyFrom(
            tf.make_tensor_proto(np.asarray(value, np.float32))
        )
    return request


def parse_grpc_response(signature: Signature, response) -> dict[str, np.ndarray]:
    """Named arrays from a `tensorflow.serving.PredictResponse`."""
    import tensorflow as tf

    return _typed_outputs(
        signature,
        {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()},
    )


@dataclasses.dataclass(frozen=True)
class GrpcClient:
    """TF Serving's gRPC API, `PredictionService.Predict`."""

    address: ServerAddress
    model_name: str = SERVING_MODEL_NAME
    version: int | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def predict(
        self, signature: Signature, inputs: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        request = grpc_predict_request(signature, inputs, self.model_name, self.version)
        # Images of a large batch exceed gRPC's default 4 MB message limit.
        options = [
            ("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", -1),
        ]
        with grpc.insecure_channel(str(self.address), options=options) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            try:
                response = stub.Predict(request, timeout=self.timeout_seconds)
            except grpc.RpcError as error:
                details = " ".join(str(error.details()).split())
                raise ServingError(
                    f"gRPC Predict at {self.address} failed with "
                    f"{error.code().name}: {details}"
                ) from error
        return parse_grpc_response(signature, response)


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

        _check_input_keys(signature, inputs)
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
        return _typed_outputs(
            signature, {key: value.numpy() for key, value in outputs.items()}
        )


def make_client(
    rest: ServerAddress | None = None,
    grpc: ServerAddress | None = None,
    local: str | None = None,
    model_name: str = SERVING_MODEL_NAME,
) -> PredictionClient:
    """The client for exactly one of a REST server, a gRPC server or a local
    SavedModel folder (a version directory or the folder of versions).

    Raises:
        ValueError: When not exactly one target is given.
        ServingError: When the local folder holds no SavedModel.
    """
    given = [target for target in (rest, grpc, local) if target is not None]
    if len(given) != 1:
        raise ValueError(
            "Give exactly one of a REST address, a gRPC address or a local "
            f"SavedModel. Received: {len(given)}"
        )
    if rest is not None:
        return RestClient(rest, model_name)
    if grpc is not None:
        return GrpcClient(grpc, model_name)
    return LocalClient(latest_version_dir(local))


def signature_inputs(
    signature: Signature,
    images: np.ndarray,
    length: float | None = None,
    angle: float | None = None,
) -> dict[str, np.ndarray]:
    """The inputs of `signature` for a batch of images, with one blur setting
    for all of them when the signature takes one.

    Raises:
        ValueError: When the blur setting is missing for a signature that
            blurs, or given for one that does not.
    """
    keys = {contract.key for contract in SIGNATURES[signature].inputs}
    takes_blur = {"length", "angle"} <= keys
    if takes_blur and (length is None or angle is None):
        raise ValueError(
            f"Signature {signature} needs a blur length and angle. "
            f"Received: length={length}, angle={angle}"
        )
    if not takes_blur and (length is not None or angle is not None):
        raise ValueError(
            f"Signature {signature} takes no blur setting. "
            f"Received: length={length}, angle={angle}"
        )
    inputs = {"images": np.asarray(images, np.float32)}
    if takes_blur:
        inputs["length"] = np.full([len(images)], length, np.float32)
        inputs["angle"] = np.full([len(images)], angle, np.float32)
    return inputs


def predict_in_batches(
    client: PredictionClient,
    signature: Signature,
    inputs: Mapping[str, np.ndarray],
    batch_size: int,
) -> dict[str, np.ndarray]:
    """`client.predict` over slices of `batch_size` examples, concatenated,
    so that a folder of thousands of images is not one request.

    Args:
        inputs: Named arrays with the examples along axis 0 (at least one).

    Raises:
        ValueError: For a batch size below 1.
        ServingError: As `client.predict`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1. Received: batch_size={batch_size}")
    count = len(next(iter(inputs.values())))
    parts = [
        client.predict(
            signature,
            {key: value[start : start + batch_size] for key, value in inputs.items()},
        )
        for start in range(0, count, batch_size)
    ]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


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
