"""Choosing a client and shaping requests: one target of three, a signature's
inputs for a batch of images, and big inputs sent in slices."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from egan_tf.export.contract import SERVING_MODEL_NAME, SIGNATURES, Signature
from egan_tf.serving.client import PredictionClient, ServerAddress
from egan_tf.serving.grpc import GrpcClient
from egan_tf.serving.local import LocalClient, latest_version_dir
from egan_tf.serving.rest import RestClient


def check_one_target(
    rest: ServerAddress | None, grpc: ServerAddress | None, local: str | None
) -> None:
    """Refuses anything but exactly one of the three targets.

    Raises:
        ValueError: Saying how many were given.
    """
    given = {
        name: target
        for name, target in (("rest", rest), ("grpc", grpc), ("local", local))
        if target is not None
    }
    if len(given) != 1:
        received = ", ".join(f"{name}={target}" for name, target in given.items())
        raise ValueError(
            "Give exactly one of a REST address, a gRPC address or a local "
            f"SavedModel. Received: {received or 'none of them'}"
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
    check_one_target(rest, grpc, local)
    if rest is not None:
        return RestClient(rest, model_name)
    if grpc is not None:
        return GrpcClient(grpc, model_name)
    return LocalClient(latest_version_dir(local))


def check_blur_setting(
    signature: Signature, length: float | None, angle: float | None
) -> bool:
    """Whether `signature` takes a blur setting, checking that one is given
    exactly when it does.

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
    return takes_blur


def signature_inputs(
    signature: Signature,
    images: np.ndarray,
    length: float | None = None,
    angle: float | None = None,
) -> dict[str, np.ndarray]:
    """The inputs of `signature` for a batch of images, with one blur setting
    for all of them when the signature takes one.

    Raises:
        ValueError: As `check_blur_setting`.
    """
    takes_blur = check_blur_setting(signature, length, angle)
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
