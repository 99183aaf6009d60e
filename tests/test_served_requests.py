"""Tests of what the shipped export does with requests a model server would
pass it: bad ones fail with InvalidArgument naming the input, and values
outside [0, 1] are clipped. Run through a TF1 session callable, which feeds
tensors without Python's shape checks, as the server does."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from helpers import EXPORT_TOLERANCE as TOLERANCE
from helpers import run_like_the_server

from egan_tf.export import Signature


def _images(shape=(2, 28, 28, 1), fill=0.5):
    return np.full(shape, fill, np.float32)


BAD_REQUESTS = {
    "defend_gated images of 27x27": (
        Signature.DEFEND_GATED,
        {"images": _images((2, 27, 27, 1))},
        "images",
    ),
    "defend_gated images with NaN": (
        Signature.DEFEND_GATED,
        {"images": _images(fill=np.nan)},
        "images must be finite",
    ),
    "defend_gated images with infinity": (
        Signature.DEFEND_GATED,
        {"images": _images(fill=-np.inf)},
        "images must be finite",
    ),
    "images of 27x27": (
        Signature.SERVING_DEFAULT,
        {"images": _images((2, 27, 27, 1))},
        "images",
    ),
    "images of rank 3": (
        Signature.CLASSIFY,
        {"images": _images((2, 28, 28))},
        "images",
    ),
    "images with NaN": (
        Signature.SERVING_DEFAULT,
        {"images": _images(fill=np.nan)},
        "images must be finite",
    ),
    "images with infinity": (
        Signature.CLASSIFY,
        {"images": _images(fill=np.inf)},
        "images must be finite",
    ),
    "blur images with NaN": (
        Signature.BLUR,
        {"images": _images(fill=np.nan), "length": [0.1, 0.1], "angle": [0.0, 0.0]},
        "images must be finite",
    ),
    "one length for two images": (
        Signature.BLUR_AND_DEFEND,
        {"images": _images(), "length": [0.1], "angle": [0.0, 0.0]},
        "length must hold one value per image",
    ),
    "negative length": (
        Signature.BLUR,
        {"images": _images(), "length": [0.1, -0.1], "angle": [0.0, 0.0]},
        "length must be non-negative",
    ),
    "NaN angle": (
        Signature.BLUR,
        {"images": _images(), "length": [0.1, 0.1], "angle": [np.nan, 0.0]},
        "angle must be finite",
    ),
    "angle of rank 2": (
        Signature.BLUR,
        {"images": _images(), "length": [0.1, 0.1], "angle": [[0.0, 0.0]]},
        "angle",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_a_bad_request_fails_with_invalid_argument_naming_the_input(
    case, server_session
):
    signature, inputs, message = BAD_REQUESTS[case]
    inputs = {key: np.asarray(value, np.float32) for key, value in inputs.items()}
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        run_like_the_server(server_session, signature, inputs)


def test_values_outside_the_unit_interval_are_clipped(server_session, mnist_test):
    images = mnist_test.images[:4].astype(np.float32) / 255.0
    stretched = images * 3.0 - 1.0  # spans [-1, 2]
    blur_setting = {
        "length": np.full([4], 0.1, np.float32),
        "angle": np.zeros([4], np.float32),
    }
    clipped_outputs = run_like_the_server(
        server_session,
        Signature.BLUR,
        {"images": np.clip(stretched, 0, 1), **blur_setting},
    )
    stretched_outputs = run_like_the_server(
        server_session, Signature.BLUR, {"images": stretched, **blur_setting}
    )
    np.testing.assert_array_equal(
        stretched_outputs["images"], clipped_outputs["images"]
    )
    probabilities = run_like_the_server(
        server_session, Signature.CLASSIFY, {"images": stretched}
    )["probabilities"]
    expected = run_like_the_server(
        server_session, Signature.CLASSIFY, {"images": np.clip(stretched, 0, 1)}
    )["probabilities"]
    np.testing.assert_allclose(probabilities, expected, atol=TOLERANCE)
