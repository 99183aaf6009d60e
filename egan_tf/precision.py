"""Numeric precision of the networks: float32, or bfloat16 compute.

Under `Precision.BFLOAT16` every layer computes in bfloat16 and keeps its
variables in float32 (Keras' `mixed_bfloat16` policy), except the head of
each network: the last layer holding weights and every layer after it stay
float32, so that logits, latent codes and pixels leave a network in float32.
The blur and the FFTs outside the networks are float32 throughout
(`tf.signal` has no bfloat16 FFT).

A `.keras` file keeps the policy it was saved with, so loading a float32
model does not make it compute in bfloat16: `with_precision` rebuilds the
network under the policy and copies the weights.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import keras

from egan_tf.execution import Precision

__all__ = [
    "Precision",
    "compute_dtypes",
    "float32_head",
    "has_precision",
    "inference_model",
    "inference_models",
    "with_precision",
]

ModelsT = TypeVar("ModelsT")


def float32_head(model: keras.Model) -> set[str]:
    """Names of the layers that stay float32 under any precision: the last
    layer holding weights and every layer after it (in `model.layers` order)."""
    layers = model.layers
    weighted = [index for index, layer in enumerate(layers) if layer.weights]
    start = weighted[-1] if weighted else len(layers)
    return {layer.name for layer in layers[start:]}


def compute_dtypes(model: keras.Model) -> dict[str, str]:
    """Each layer's compute dtype by name, e.g. {"block0_conv0": "bfloat16"}."""
    return {layer.name: layer.compute_dtype for layer in model.layers}


def has_precision(model: keras.Model, precision: Precision) -> bool:
    """Whether every layer outside the float32 head has `precision`'s policy
    and the head is float32."""
    head = float32_head(model)
    wanted = Precision(precision).policy
    return all(
        layer.dtype_policy.name == ("float32" if layer.name in head else wanted)
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    )


def with_precision(model: keras.Model, precision: Precision) -> keras.Model:
    """`model` computing at `precision`, with the same weights.

    Args:
        model: A functional or sequential Keras model of any policy.
        precision: The precision to compute at.

    Returns:
        `model` itself when it already computes at `precision`; otherwise a
        clone (same name, layer names and weights) whose layers carry the
        policy, the float32 head excepted.
    """
    precision = Precision(precision)
    if has_precision(model, precision):
        return model
    head = float32_head(model)

    def clone_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name in head else precision.policy
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    return clone


def inference_model(model: keras.Model, precision: Precision) -> keras.Model:
    """`model` ready for inference at `precision`.

    float32 is `model` itself, so that every shipped float32 number is
    reproduced exactly. bfloat16 first folds the batch normalisations into
    the layers before them, in float32 (Keras' batch normalisation upcasts a
    bfloat16 input to float32 and back, which costs most of the bfloat16
    gain), then rebuilds the network under the policy.
    """
    from egan_tf.batch_norm_folding import fold_batch_norm

    precision = Precision(precision)
    if precision == Precision.FLOAT32:
        return with_precision(model, precision)
    return with_precision(fold_batch_norm(model), precision)


def inference_models(models: ModelsT, precision: Precision) -> ModelsT:
    """A frozen dataclass of networks (e.g. `ShippedModels`) with every Keras
    model field through `inference_model`; other fields are kept."""
    replacements = {
        field.name: inference_model(value, precision)
        for field in dataclasses.fields(models)
        if isinstance(value := getattr(models, field.name), keras.Model)
    }
    return dataclasses.replace(models, **replacements)
