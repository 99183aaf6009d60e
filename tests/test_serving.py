"""Tests of the REST, gRPC and local clients of the exported model.

The REST and gRPC tests talk over real sockets on 127.0.0.1 to stand-ins that
record the request and answer with fixed values: they check the wire format
the clients speak, not a model. The model itself is checked through the
local client on the shipped export.
"""

from __future__ import annotations

import http.server
import json
import os
import threading
from concurrent import futures

import numpy as np
import pytest
import tensorflow as tf
from conftest import SAVED_MODELS
from helpers import free_port

from egan_tf import serving
from egan_tf.export import Signature
from egan_tf.serving import ServerAddress, ServingError

SHIPPED_ROOT = os.path.join(SAVED_MODELS, "egan_defense")


def test_server_address_parses_host_and_port():
    assert ServerAddress.parse("localhost:8501") == ServerAddress("localhost", 8501)
    assert str(ServerAddress.parse("10.0.0.2:8500")) == "10.0.0.2:8500"
    for bad in ("localhost", ":8501", "host:port", "host:0", "host:70000"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            ServerAddress.parse(bad)


def test_rest_body_uses_the_row_format_and_names_other_signatures():
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    body = serving.rest_request_body(Signature.SERVING_DEFAULT, {"images": images})
    assert "signature_name" not in body
    assert len(body["instances"]) == 2
    np.testing.assert_allclose(np.asarray(body["instances"][1]["images"]), images[1])

    inputs = serving.signature_inputs(Signature.BLUR_AND_DEFEND, images, 0.05, 30.0)
    body = serving.rest_request_body(Signature.BLUR_AND_DEFEND, inputs)
    assert body["signature_name"] == "blur_and_defend"
    assert body["instances"][0]["length"] == pytest.approx(0.05)
    assert body["instances"][1]["angle"] == 30.0
    json.dumps(body)  # The body must serialise as it is.


def test_rest_body_rejects_missing_inputs_and_ragged_batches():
    images = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ServingError, match="length"):
        serving.rest_request_body(Signature.BLUR, {"images": images})
    with pytest.raises(ServingError, match="one value per example"):
        serving.rest_request_body(
            Signature.BLUR, {"images": images, "length": [0.1], "angle": [0.0, 0.0]}
        )


def test_rest_response_parsing_for_several_outputs_and_for_one():
    rows = [
        {"probabilities": [0.1] * 10, "label": 3},
        {"probabilities": [0.0] * 9 + [1.0], "label": 9},
    ]
    outputs = serving.parse_rest_response(Signature.CLASSIFY, {"predictions": rows})
    assert outputs["label"].dtype == np.int64
    assert outputs["label"].tolist() == [3, 9]
    assert outputs["probabilities"].shape == (2, 10)

    images = np.zeros((2, 28, 28, 1)).tolist()
    outputs = serving.parse_rest_response(Signature.BLUR, {"predictions": images})
    assert outputs["images"].shape == (2, 28, 28, 1)
    assert outputs["images"].dtype == np.float32

    with pytest.raises(ServingError, match="refused the request: bad"):
        serving.parse_rest_response(Signature.BLUR, {"error": "bad"})
    with pytest.raises(ServingError, match="no output 'label'"):
        serving.parse_rest_response(
            Signature.CLASSIFY, {"predictions": [{"probabilities": [0.1] * 10}]}
        )


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Records one POST and answers with the server's canned status and body."""

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.server.requests.append((self.path, json.loads(self.rfile.read(length))))
        status, body = self.server.reply
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def recording_http_server():
    server = http.server.HTTPServer(("127.0.0.1", free_port()), _RecordingHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_rest_client_posts_to_the_model_server_path(recording_http_server):
    server = recording_http_server
    server.reply = (200, {"predictions": [{"probabilities": [0.1] * 10, "label": 7}]})
    address = ServerAddress("127.0.0.1", server.server_address[1])
    client = serving.RestClient(address, version=3)
    outputs = client.predict(
        Signature.CLASSIFY, {"images": np.zeros((1, 28, 28, 1), np.float32)}
    )
    assert outputs["label"].tolist() == [7]
    path, body = server.requests[0]
    assert path == "/v1/models/egan_defense/versions/3:predict"
    assert body["signature_name"] == "classify"

    server.reply = (400, {"error": "images must be finite : Tensor had NaN values"})
    with pytest.raises(ServingError, match="HTTP 400: images must be finite"):
        client.predict(Signature.CLASSIFY, {"images": np.zeros((1, 28, 28, 1))})


def test_grpc_request_and_response_round_trip():
    from tensorflow_serving.apis import predict_pb2

    images = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
    inputs = serving.signature_inputs(Signature.BLUR_AND_DEFEND, images, 0.1, 45.0)
    request = serving.grpc_predict_request(Signature.BLUR_AND_DEFEND, inputs, version=2)
    assert request.model_spec.name == "egan_defense"
    assert request.model_spec.signature_name == "blur_and_defend"
    assert request.model_spec.version.value == 2
    np.testing.assert_array_equal(tf.make_ndarray(request.inputs["images"]), images)
    assert tf.make_ndarray(request.inputs["angle"]).tolist() == [45.0] * 3

    response = predict_pb2.PredictResponse()
    response.outputs["probabilities"].CopyFrom(
        tf.make_tensor_proto(np.eye(10, dtype=np.float32)[:2])
    )
    response.outputs["label"].CopyFrom(tf.make_tensor_proto(np.array([0, 1], np.int64)))
    outputs = serving.parse_grpc_response(Signature.CLASSIFY, response)
    assert outputs["label"].tolist() == [0, 1]


def test_grpc_client_calls_the_prediction_service():
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    received = []

    class RecordingPredictionService(
        prediction_service_pb2_grpc.PredictionServiceServicer
    ):
        def Predict(self, request, context):
            received.append(request)
            if request.model_spec.signature_name == "blur":
                context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, "length must be non-negative"
                )
            batch = tf.make_ndarray(request.inputs["images"]).shape[0]
            response = predict_pb2.PredictResponse()
            response.outputs["label"].CopyFrom(
                tf.make_tensor_proto(np.full([batch], 4, np.int64))
            )
            response.outputs["probabilities"].CopyFrom(
                tf.make_tensor_proto(np.full([batch, 10], 0.1, np.float32))
            )
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        RecordingPredictionService(), server
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = serving.GrpcClient(
            ServerAddress("127.0.0.1", port), timeout_seconds=10
        )
        outputs = client.predict(
            Signature.CLASSIFY, {"images": np.zeros((2, 28, 28, 1), np.float32)}
        )
        assert outputs["label"].tolist() == [4, 4]
        assert received[0].model_spec.signature_name == "classify"
        with pytest.raises(
            ServingError, match="INVALID_ARGUMENT: length must be non-negative"
        ):
            client.predict(
                Signature.BLUR,
                serving.signature_inputs(
                    Signature.BLUR, np.zeros((1, 28, 28, 1)), 0.1, 0.0
                ),
            )
    finally:
        server.stop(grace=None)


@pytest.mark.parametrize("client_class", [serving.RestClient, serving.GrpcClient])
def test_no_server_is_one_line_error(client_class):
    client = client_class(ServerAddress("127.0.0.1", free_port()), timeout_seconds=5)
    with pytest.raises(ServingError) as raised:
        client.predict(Signature.CLASSIFY, {"images": np.zeros((1, 28, 28, 1))})
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def local_client():
    return serving.make_client(local=SHIPPED_ROOT)


def test_local_client_runs_the_latest_shipped_version(local_client, mnist_test):
    images = mnist_test.images[:20].astype(np.float32) / 255.0
    outputs = local_client.predict(Signature.SERVING_DEFAULT, {"images": images})
    assert outputs["label"].dtype == np.int64
    assert np.mean(outputs["label"] == mnist_test.labels[:20]) >= 0.9
    np.testing.assert_allclose(outputs["probabilities"].sum(axis=1), 1.0, atol=1e-5)
    assert local_client.saved_model_dir == os.path.join(
        SHIPPED_ROOT, str(max(int(n) for n in os.listdir(SHIPPED_ROOT) if n.isdigit()))
    )


def test_local_client_reports_a_bad_input_on_one_line(local_client):
    images = np.full((1, 28, 28, 1), np.nan, np.float32)
    with pytest.raises(ServingError, match="images must be finite") as raised:
        local_client.predict(Signature.CLASSIFY, {"images": images})
    assert "\n" not in str(raised.value)


def test_make_client_and_signature_inputs_reject_bad_combinations(tmp_path):
    # The count alone ("Received: 0") told a user nothing they could act on.
    with pytest.raises(ValueError, match=r"exactly one.*Received: none of them$"):
        serving.make_client()
    with pytest.raises(ValueError, match="exactly one") as raised:
        serving.make_client(rest=ServerAddress("a", 1), local=str(tmp_path))
    assert str(raised.value).endswith(f"Received: rest=a:1, local={tmp_path}")
    with pytest.raises(ServingError, match="No SavedModel"):
        serving.make_client(local=str(tmp_path))
    images = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match="needs a blur length and angle"):
        serving.signature_inputs(Signature.BLUR_AND_DEFEND, images, 0.1, None)
    with pytest.raises(ValueError, match="takes no blur setting"):
        serving.signature_inputs(Signature.CLASSIFY, images, None, 10.0)


def test_predict_in_batches_sends_slices_and_joins_the_answers():
    class RecordingClient:
        def __init__(self):
            self.sizes = []

        def predict(self, signature, inputs):
            self.sizes.append(len(inputs["images"]))
            return {"label": inputs["images"][:, 0, 0, 0].astype(np.int64)}

    client = RecordingClient()
    images = np.arange(7, dtype=np.float32)[:, None, None, None] * np.ones(
        [7, 28, 28, 1], np.float32
    )
    outputs = serving.predict_in_batches(
        client, Signature.CLASSIFY, {"images": images}, batch_size=3
    )
    assert client.sizes == [3, 3, 1]
    assert outputs["label"].tolist() == list(range(7))
    with pytest.raises(ValueError, match="batch_size"):
        serving.predict_in_batches(client, Signature.CLASSIFY, {"images": images}, 0)
