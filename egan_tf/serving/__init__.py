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

from egan_tf.serving.client import (
    DEFAULT_TIMEOUT_SECONDS,
    PredictionClient,
    ServerAddress,
    ServingError,
)
from egan_tf.serving.grpc import GrpcClient, grpc_predict_request, parse_grpc_response
from egan_tf.serving.local import LocalClient, latest_version_dir
from egan_tf.serving.requests import (
    check_blur_setting,
    check_one_target,
    make_client,
    predict_in_batches,
    signature_inputs,
)
from egan_tf.serving.rest import RestClient, parse_rest_response, rest_request_body

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "GrpcClient",
    "LocalClient",
    "PredictionClient",
    "RestClient",
    "ServerAddress",
    "ServingError",
    "check_blur_setting",
    "check_one_target",
    "grpc_predict_request",
    "latest_version_dir",
    "make_client",
    "parse_grpc_response",
    "parse_rest_response",
    "predict_in_batches",
    "rest_request_body",
    "signature_inputs",
]
