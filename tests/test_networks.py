"""Tests of the functional network builders."""

import keras
import numpy as np
import pytest
from helpers import TINY_EGAN

from egan_tf.config import ClassifierConfig
from egan_tf.networks import (
    build_classifier,
    build_discriminator,
    build_encoder,
    build_generator,
)

SMALL = TINY_EGAN
CASES = [
    (build_classifier, ClassifierConfig(filters=(4, 8), dense_units=16), "classifier", (28, 28, 1), (10,)),
    (build_generator, SMALL, "generator", (8,), (28, 28, 1)),
    (build_discriminator, SMALL, "discriminator", (28, 28, 1), (1,)),
    (build_encoder, SMALL, "encoder", (28, 28, 1), (8,)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("builder", "config", "name", "input_shape", "output_shape"), CASES
)
def test_builder_shapes_and_names(builder, config, name, input_shape, output_shape):
    model = builder(config)
    assert isinstance(model, keras.Model)
    assert model.name == name
    assert model.input_shape == (None, *input_shape)
    assert model.output_shape == (None, *output_shape)
    for batch in (1, 3):
        output = model(np.random.default_rng(0).uniform(size=(batch, *input_shape)))
        assert output.shape == (batch, *output_shape)
        assert output.dtype == "float32"


def test_generator_output_is_in_unit_interval():
    generator = build_generator(SMALL)
    images = generator(np.random.default_rng(0).normal(size=(16, 8)) * 10).numpy()
    assert images.min() >= 0.0
    assert images.max() <= 1.0


@pytest.mark.parametrize(
    ("builder", "config", "name", "input_shape", "output_shape"), CASES
)
def test_keras_file_round_trip_with_safe_mode(
    tmp_path, builder, config, name, input_shape, output_shape
):
    model = builder(config)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    inputs = np.random.default_rng(1).uniform(size=(2, *input_shape)).astype("float32")
    np.testing.assert_allclose(
        restored(inputs).numpy(), model(inputs).numpy(), atol=1e-6
    )
    assert restored.output_shape == (None, *output_shape)
