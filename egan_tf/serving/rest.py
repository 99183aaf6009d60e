"""TF Serving's REST API: the row-format request body, its response, and
`RestClient`."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Mapping

import numpy as np

from egan_tf.export.contract import SIGNATURES, Signature
from egan_tf.serving.client import (
    ServerTarget,
    ServingError,
    check_input_keys,
    typed_outputs,
)


def rest_request_body(
    signature: Signature, inputs: Mapping[str, np.ndarray]
) -> dict[str, object]:
    """The JSON body of a REST predict request, in the row ("instances") format.

    Each instance is an object from input key to that example's value, which
    the model server accepts for one input as for several.
    """
    check_input_keys(signature, inputs)
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
        return typed_outputs(signature, {contracts[0].key: rows})
    keys = set(rows[0]) if rows else {contract.key for contract in contracts}
    return typed_outputs(
        signature, {key: [row.get(key) for row in rows] for key in keys}
    )


@dataclasses.dataclass(frozen=True)
class RestClient(ServerTarget):
    """TF Serving's REST API: `POST /v1/models/<name>[/versions/<v>]:predict`."""

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
