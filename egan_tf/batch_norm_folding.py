"""Folding inference-mode batch normalisation into the layer before it.

At inference a batch normalisation is an affine map per channel,
y = gamma (x - mean) / sqrt(variance + epsilon) + beta, and when x comes straight
from a convolution or a dense layer, that map folds into the layer's kernel and bias.
The folded network computes the same function with one layer fewer per block.

It matters under bfloat16: Keras' `BatchNormalization` upcasts its input to
float32 and casts back, so each one costs two full-size casts and a float32
pass over the feature map, which takes away most of what bfloat16 gains on
this CPU. Folding happens in float32, before any cast.
"""

from __future__ import annotations

import keras
import numpy as np

# Layers whose kernel's last axis, or for a transposed convolution its
# second-to-last, indexes the output channels.
_FOLDABLE = (keras.layers.Conv2D, keras.layers.Dense, keras.layers.Conv2DTranspose)


@keras.saving.register_keras_serializable(package="egan_tf")
class FoldedBatchNormalization(keras.layers.Layer):
    """What is left of a batch normalisation folded into the layer before it:
    the identity, taking the arguments a normalisation is called with."""

    def call(self, inputs, training=None, mask=None):
        del training, mask
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def _producer(layer):
    """The layer whose output is `layer`'s only input, or None."""
    nodes = layer._inbound_nodes
    if len(nodes) != 1 or len(nodes[0].input_tensors) != 1:
        return None
    return nodes[0].input_tensors[0]._keras_history.operation


def foldable_pairs(model: keras.Model) -> dict[str, str]:
    """Batch normalisations that can be folded, by name, with the name of
    the convolution or dense layer they fold into.

    A pair qualifies when the normalisation is over the last axis, its input
    is the output of a `Conv2D`, `Conv2DTranspose` or `Dense` with a linear
    activation, and nothing else reads that output.
    """
    pairs = {}
    for layer in model.layers:
        if not isinstance(layer, keras.layers.BatchNormalization):
            continue
        producer = _producer(layer)
        if (
            isinstance(producer, _FOLDABLE)
            and layer.axis in (-1, len(layer.input.shape) - 1)
            and producer.get_config().get("activation") == "linear"
            and len(producer._outbound_nodes) == 1
        ):
            pairs[layer.name] = producer.name
    return pairs


def fold_batch_norm(model: keras.Model) -> keras.Model:
    """An inference copy of `model` with every foldable batch normalisation
    folded into the layer before it (see `foldable_pairs`).

    The copy keeps the model's name, inputs and outputs; each folded
    normalisation becomes a `FoldedBatchNormalization` (the identity) of
    the same name, and the layer
    it folds into gains a bias. It computes what `model(x, training=False)`
    does, up to float32 rounding. Returns `model` itself when nothing folds.
    """
    pairs = foldable_pairs(model)
    if not pairs:
        return model
    folded_into = set(pairs.values())

    def clone_layer(layer):
        if layer.name in pairs:
            return FoldedBatchNormalization(
                name=layer.name, dtype=layer.dtype_policy.name
            )
        config = layer.get_config()
        if layer.name in folded_into:
            config["use_bias"] = True
        return layer.__class__.from_config(config)

    folded = keras.models.clone_model(model, clone_function=clone_layer)
    for layer in model.layers:
        if layer.name in pairs or layer.name in folded_into:
            continue
        folded.get_layer(layer.name).set_weights(layer.get_weights())
    for norm_name, producer_name in pairs.items():
        norm = model.get_layer(norm_name)
        producer = model.get_layer(producer_name)
        folded.get_layer(producer_name).set_weights(_folded_weights(producer, norm))
    return folded


def _folded_weights(producer, norm) -> list[np.ndarray]:
    """Kernel and bias of `producer` with `norm`'s inference map folded in."""
    weights = producer.get_weights()
    kernel = weights[0].astype(np.float64)
    bias = (
        weights[1].astype(np.float64)
        if len(weights) > 1
        else np.zeros(norm.moving_mean.shape, np.float64)
    )
    mean = np.asarray(norm.moving_mean, np.float64)
    variance = np.asarray(norm.moving_variance, np.float64)
    gamma = np.asarray(norm.gamma, np.float64) if norm.scale else 1.0
    beta = np.asarray(norm.beta, np.float64) if norm.center else 0.0
    scale = gamma / np.sqrt(variance + norm.epsilon)
    if isinstance(producer, keras.layers.Conv2DTranspose):
        kernel = kernel * scale[:, np.newaxis]
    else:
        kernel = kernel * scale
    bias = (bias - mean) * scale + beta
    return [kernel.astype(np.float32), bias.astype(np.float32)]
