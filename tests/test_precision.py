"""bfloat16 compute: rebuilt networks, loaded ones, trained ones, saved ones."""

import keras
import numpy as np
import pytest

from egan_tf.config import ClassifierConfig, TrainingConfig
from egan_tf.execution import ExecutionConfig, Precision
from egan_tf.model_io import load_model, save_model_atomically
from egan_tf.networks import build_classifier
from egan_tf.precision import (
    CloseCallFallback,
    bfloat16_model,
    compute_dtypes,
    float32_head,
    has_precision,
    inference_model,
    with_precision,
)

TINY = ClassifierConfig(filters=(4, 8), dense_units=8, dropout_rate=0.0)
# Layers that compute: everything but the input.
_INPUT = "images"


def _bfloat16_body(model):
    dtypes = compute_dtypes(model)
    head = float32_head(model)
    return {
        name: dtype for name, dtype in dtypes.items() if name not in head | {_INPUT}
    }


def test_a_network_rebuilt_in_bfloat16_keeps_its_weights_and_float32_head():
    keras.utils.set_random_seed(0)
    model = build_classifier(TINY)
    converted = with_precision(model, Precision.BFLOAT16)
    assert set(_bfloat16_body(converted).values()) == {"bfloat16"}
    assert float32_head(converted) == {"logits"}
    assert converted.get_layer("logits").compute_dtype == "float32"
    for before, after in zip(model.get_weights(), converted.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    images = np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1))
    logits = converted(images, training=False)
    assert logits.dtype == "float32"
    np.testing.assert_allclose(logits, model(images, training=False), atol=0.1)
    assert with_precision(converted, Precision.BFLOAT16) is converted


def test_a_loaded_float32_file_really_computes_in_bfloat16(tmp_path):
    keras.utils.set_random_seed(0)
    path = str(tmp_path / "classifier.keras")
    save_model_atomically(build_classifier(TINY), path)
    loaded = load_model(path)
    # Loading keeps the saved policy: the pitfall inference_model exists for.
    assert set(_bfloat16_body(loaded).values()) == {"float32"}
    model = inference_model(loaded, Precision.BFLOAT16)
    assert set(_bfloat16_body(model.fast).values()) == {"bfloat16"}
    assert has_precision(model.fast, Precision.BFLOAT16)
    assert has_precision(model.precise, Precision.FLOAT32)
    assert inference_model(loaded, Precision.FLOAT32) is loaded
    # Other networks (E, G, B) stay float32 under bfloat16.
    assert inference_model(loaded, Precision.BFLOAT16, classifier=False) is loaded


def test_close_calls_get_float32_logits_and_the_rest_bfloat16():
    keras.utils.set_random_seed(3)
    model = build_classifier(TINY)
    fast_model = bfloat16_model(model)
    images = np.random.default_rng(1).uniform(0, 1, (64, 28, 28, 1))
    fast = np.asarray(fast_model(images))
    precise = np.asarray(model(images, training=False))
    best_two = np.sort(fast, axis=1)[:, -2:]
    margins = best_two[:, 1] - best_two[:, 0]
    # The median margin splits the rows into two kinds, both checked.
    margin = float(np.median(margins))
    guarded = CloseCallFallback(fast_model, model, margin=margin)
    close = margins < margin
    assert 0 < close.sum() < len(close)
    logits = np.asarray(guarded(images))
    # The close calls are recomputed as a smaller batch, and float32 kernels
    # may block a smaller batch differently (seen on an AVX2 CPU: 2e-8), so
    # to rounding; bfloat16's logits are about 1e-3 away from float32's.
    np.testing.assert_allclose(logits[close], precise[close], rtol=0, atol=1e-6)
    assert np.max(np.abs(fast[close] - precise[close])) > 1e-4
    np.testing.assert_array_equal(logits[~close], fast[~close])
    # No close call at all: nothing is recomputed (an empty batch through the
    # float32 network used to fail in oneDNN).
    unguarded = CloseCallFallback(fast_model, model, margin=0.0)
    np.testing.assert_array_equal(np.asarray(unguarded(images)), fast)


def test_a_network_trained_in_bfloat16_computes_in_it_and_is_saved_float32(
    tmp_path, mnist_test
):
    from egan_tf.training.classifier import train_classifier
    from egan_tf.training.runtime import Runtime

    runtime = Runtime.create(ExecutionConfig(precision="bfloat16"))
    result = train_classifier(
        TINY,
        TrainingConfig(epochs=1, batch_size=16),
        mnist_test.take(32),
        str(tmp_path / "checkpoints"),
        show_progress=False,
        runtime=runtime,
    )
    classifier = result.classifier
    assert set(_bfloat16_body(classifier).values()) == {"bfloat16"}
    assert {weight.dtype for weight in classifier.weights} == {"float32"}
    assert np.isfinite(result.history[-1]["epoch_loss"])
    path = str(tmp_path / "classifier.keras")
    save_model_atomically(classifier, path)
    assert set(_bfloat16_body(load_model(path)).values()) == {"float32"}


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="Received: precision='float16'"):
        ExecutionConfig(precision="float16")
