"""Numeric precision of the networks: float32, or bfloat16 compute.

Training under `Precision.BFLOAT16` (`with_precision`): every layer computes
in bfloat16 and keeps its variables in float32 (Keras' `mixed_bfloat16`
policy), except the head of each network: the last layer holding weights and
every layer after it stay float32, so that logits, latent codes and pixels
leave a network in float32. The blur and the FFTs outside the networks are
float32 throughout (`tf.signal` has no bfloat16 FFT).

Evaluation under `Precision.BFLOAT16` (`inference_model`): the classifiers
compute in bfloat16 with their batch normalisations folded, and recompute in
float32 the rows where their two best classes are nearly tied
(`CloseCallFallback`), so that their labels are float32's; E, G and B stay
float32. float32 evaluation is the shipped networks as they are.

A `.keras` file keeps the policy it was saved with, so loading a float32
model does not make it compute in bfloat16: `with_precision` rebuilds the
network under the policy and copies the weights.
"""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import keras
import tensorflow as tf

from egan_tf.execution import Precision

__all__ = [
    "BFLOAT16_RECHECK_MARGIN",
    "CloseCallFallback",
    "Precision",
    "bfloat16_model",
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


# Rows whose bfloat16 logits put the top two classes closer than this are
# recomputed in float32. Chosen per models folder on held-out training images
# (`egan_tf.model_files.load_recheck_margin`); this is MNIST's choice
# (saved_models/bf16_margin.json), for networks built in code.
BFLOAT16_RECHECK_MARGIN = 0.15
# The fields of `ShippedModels` and `DefenseModels` that hold classifiers.
CLASSIFIER_FIELDS = ("classifier", "classifier_augment", "classifier_mixture")


class CloseCallFallback(keras.Model):
    """A classifier that computes in bfloat16 and recomputes in float32 the
    rows whose two best classes are closer than `margin`.

    bfloat16 keeps 8 bits of mantissa: its logits differ from float32's by
    about 0.1, which changes a label only where two classes are nearly tied.
    Those rows, a few percent of strongly blurred digits and fewer of sharp
    ones, get float32's logits, so that the labels are float32's.

    Args:
        fast: The classifier at bfloat16 (`inference_model`'s body).
        precise: The same classifier in float32.
        margin: Top-two logit margin below which a row is recomputed.

    Input: float32 [batch, 28, 28, 1] in [0, 1]. Output: float32 logits
    [batch, classes].
    """

    def __init__(self, fast, precise, margin=BFLOAT16_RECHECK_MARGIN, **kwargs):
        kwargs.setdefault("name", precise.name)
        super().__init__(**kwargs)
        self.fast = fast
        self.precise = precise
        self.margin = float(margin)

    def call(self, images, training=False):
        logits = self.fast(images, training=False)
        best_two = tf.math.top_k(logits, k=2).values
        close = tf.where(best_two[:, 0] - best_two[:, 1] < self.margin)

        def recheck():
            rechecked = self.precise(tf.gather(images, close[:, 0]), training=False)
            return tf.tensor_scatter_nd_update(logits, close, rechecked)

        # An empty batch through the convolutions fails in oneDNN; it also
        # costs nothing to skip.
        return tf.cond(tf.size(close) > 0, recheck, lambda: logits)

    def get_config(self):
        return {
            **super().get_config(),
            "fast": keras.saving.serialize_keras_object(self.fast),
            "precise": keras.saving.serialize_keras_object(self.precise),
            "margin": self.margin,
        }


def bfloat16_model(model: keras.Model) -> keras.Model:
    """`model`'s batch normalisations folded into the layers before them, in
    float32, then rebuilt at bfloat16 (Keras' batch normalisation upcasts a
    bfloat16 input to float32 and back, which costs most of the gain)."""
    from egan_tf.batch_norm_folding import fold_batch_norm

    return with_precision(fold_batch_norm(model), Precision.BFLOAT16)


def inference_model(
    model: keras.Model,
    precision: Precision,
    classifier: bool = True,
    margin: float = BFLOAT16_RECHECK_MARGIN,
) -> keras.Model:
    """`model` ready for inference at `precision`.

    float32 is `model` itself, so that every shipped float32 number is
    reproduced exactly. Under bfloat16 a classifier computes in bfloat16
    (`bfloat16_model`) with its close calls (top two logits closer than
    `margin`) rechecked in float32 (`CloseCallFallback`); any other network (E, G, B) stays float32: the
    restorations and B's estimates feed gates and 20-step refinements whose
    answers bfloat16's rounding moves by more than the 0.1 points allowed,
    and they are a fifth of the grid's arithmetic.
    """
    precision = Precision(precision)
    if precision == Precision.FLOAT32 or not classifier:
        return with_precision(model, Precision.FLOAT32)
    return CloseCallFallback(bfloat16_model(model), model, margin=margin)


def inference_models(
    models: ModelsT, precision: Precision, margin: float = BFLOAT16_RECHECK_MARGIN
) -> ModelsT:
    """A frozen dataclass of networks (e.g. `ShippedModels`) with every Keras
    model field through `inference_model` (the `CLASSIFIER_FIELDS` as
    classifiers); other fields are kept."""
    replacements = {
        field.name: inference_model(
            value, precision, field.name in CLASSIFIER_FIELDS, margin
        )
        for field in dataclasses.fields(models)
        if isinstance(value := getattr(models, field.name), keras.Model)
    }
    return dataclasses.replace(models, **replacements)
