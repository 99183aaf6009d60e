"""TF Serving's gRPC API: the `PredictRequest` proto, its response, and
`GrpcClient`. `grpc` and `tensorflow_serving` are imported only when used."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from egan_tf.export.contract import SERVING_MODEL_NAME, Signature
from egan_tf.serving.client import (
    ServerTarget,
    ServingError,
    check_input_keys,
    typed_outputs,
)


def grpc_predict_request(
    signature: Signature,
    inputs: Mapping[str, np.ndarray],
    model_name: str = SERVING_MODEL_NAME,
    version: int | None = None,
):
    """A `tensorflow.serving.PredictRequest` protocol buffer for the request."""
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    check_input_keys(signature, inputs)
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

    return typed_outputs(
        signature,
        {key: tf.make_ndarray(proto) for key, proto in response.outputs.items()},
    )


@dataclasses.dataclass(frozen=True)
class GrpcClient(ServerTarget):
    """TF Serving's gRPC API, `PredictionService.Predict`."""

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
