"""Folding inference batch normalisation into the layer before it."""

import keras
import numpy as np
import pytest
from helpers import TINY_EGAN

from egan_tf.batch_norm_folding import fold_batch_norm, foldable_pairs
from egan_tf.config import ClassifierConfig
from egan_tf.networks import build_classifier, build_encoder, build_generator


def _with_batch_statistics(model: keras.Model) -> keras.Model:
    """`model` with moving statistics and affine terms far from the
    initial ones, so that a wrong fold shows."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            size = layer.moving_mean.shape[0]
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, size),  # gamma
                    rng.normal(0, 0.5, size),  # beta
                    rng.normal(0, 0.5, size),  # moving mean
                    rng.uniform(0.2, 3.0, size),  # moving variance
                ]
            )
    return model


@pytest.mark.parametrize(
    ("builder", "config", "input_shape", "pairs"),
    [
        (build_classifier, ClassifierConfig(filters=(4, 8), dense_units=8),
         (28, 28, 1), 4),
        (build_encoder, TINY_EGAN, (28, 28, 1), 3),
        (build_generator, TINY_EGAN, (TINY_EGAN.latent_dim,), 2),
    ],
)  # fmt: skip
def test_the_folded_network_computes_the_same(builder, config, input_shape, pairs):
    keras.utils.set_random_seed(1)
    model = _with_batch_statistics(builder(config))
    assert len(foldable_pairs(model)) == pairs
    folded = fold_batch_norm(model)
    inputs = np.random.default_rng(2).uniform(0, 1, (16, *input_shape))
    np.testing.assert_allclose(
        folded(inputs), model(inputs, training=False), atol=2e-5, rtol=1e-4
    )
    assert folded.name == model.name
    assert not any(
        isinstance(layer, keras.layers.BatchNormalization) for layer in folded.layers
    )


def test_a_normalisation_after_a_nonlinear_layer_is_kept():
    inputs = keras.Input((4,))
    features = keras.layers.Dense(3, activation="relu", name="dense")(inputs)
    outputs = keras.layers.BatchNormalization(name="norm")(features)
    model = keras.Model(inputs, outputs)
    assert foldable_pairs(model) == {}
    assert fold_batch_norm(model) is model
