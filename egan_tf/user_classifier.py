"""A classifier the user trained, put in C's place.

Its input must be [batch, 28, 28, 1] in [0, 1] and its output 10 logits or
10 probabilities. A softmax output is detected (the last layer's activation,
or outputs that are non-negative rows summing to 1 on probe images) and
wrapped to give log-probabilities, which every method reads as logits:
softmax(log p) = p, so labels and probabilities are unchanged.

Every EGAN-based method runs with it unchanged. The networks that exist only
for the shipped C (its blur-augmented and mixture-trained copies) are dropped,
so the methods that read them are reported as not applicable; the `gated`
defence, whose shipped restorer is the hybrid (which reads the mixture copy),
then restores with the hybrid's own restorer, and says so.
"""

from __future__ import annotations

import dataclasses
import enum

import keras
import numpy as np

from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES
from egan_tf.defenses import DefenseConfig, DefenseModels, Method
from egan_tf.model_io import ShippedModels, load_model

# Probe images for detecting a softmax output, and how close to 1 a row of
# probabilities must sum.
_PROBE_COUNT = 16
_PROBE_SEED = 0
_SUM_TOLERANCE = 1e-4
# Keeps log(p) finite where a softmax underflows to 0.
_PROBABILITY_FLOOR = 1e-30


class ClassifierOutput(enum.StrEnum):
    """What the user's classifier outputs."""

    LOGITS = "logits"
    PROBABILITIES = "probabilities"


@dataclasses.dataclass(frozen=True)
class UserClassifier:
    """The user's classifier, ready to stand in for C.

    Attributes:
        path: The `.keras` file it was loaded from.
        output: What the file's model outputs.
        model: images float32 [batch, 28, 28, 1] in [0, 1] -> logits float32
            [batch, 10] (log-probabilities when `output` is probabilities).
    """

    path: str
    output: ClassifierOutput
    model: keras.Model

    def describe(self) -> str:
        """One line for the output of a command."""
        if self.output == ClassifierOutput.PROBABILITIES:
            return f"{self.path} (outputs probabilities; the defences read their logs)"
        return f"{self.path} (outputs logits)"

    def to_dict(self) -> dict:
        return {"path": self.path, "output": str(self.output)}


def _ends_in_softmax(model: keras.Model) -> bool:
    activation = getattr(model.layers[-1], "activation", None)
    if activation is keras.activations.softmax:
        return True
    return isinstance(model.layers[-1], keras.layers.Softmax)


def detect_output(model: keras.Model) -> ClassifierOutput:
    """Whether `model` outputs probabilities (a softmax) or logits."""
    if _ends_in_softmax(model):
        return ClassifierOutput.PROBABILITIES
    probes = np.random.default_rng(_PROBE_SEED).random([_PROBE_COUNT, *IMAGE_SHAPE])
    outputs = np.asarray(model(probes.astype(np.float32), training=False))
    sums_to_one = np.all(np.abs(outputs.sum(axis=-1) - 1.0) < _SUM_TOLERANCE)
    if np.all(outputs >= 0.0) and sums_to_one:
        return ClassifierOutput.PROBABILITIES
    return ClassifierOutput.LOGITS


def load_user_classifier(path: str) -> UserClassifier:
    """Loads a user's classifier with Keras' safe mode and checks its shapes.

    Raises:
        ModelFileError: One line naming the file: missing, corrupt, unsafe
            (e.g. a Lambda layer), or of the wrong input or output shape.
    """
    model = load_model(
        path, expected_input_shape=IMAGE_SHAPE, expected_output_shape=(NUM_CLASSES,)
    )
    output = detect_output(model)
    if output == ClassifierOutput.LOGITS:
        return UserClassifier(path, output, model)
    inputs = keras.Input(IMAGE_SHAPE, name="images")
    probabilities = model(inputs)
    logits = keras.ops.log(keras.ops.maximum(probabilities, _PROBABILITY_FLOOR))
    wrapped = keras.Model(inputs, logits, name="user_classifier_logits")
    return UserClassifier(path, output, wrapped)


def with_user_classifier(
    models: DefenseModels, config: DefenseConfig, classifier: UserClassifier
) -> tuple[DefenseModels, DefenseConfig, list[str]]:
    """The defences' networks and settings with the user's classifier as C.

    Returns:
        (models without the shipped C's copies, the settings with `gated`'s
        restorer replaced when it read a dropped copy, notes saying what was
        changed, one line each).
    """
    models = dataclasses.replace(
        models,
        classifier=classifier.model,
        classifier_augment=None,
        classifier_mixture=None,
    )
    notes = []
    if models.missing_for(Method.GATED, config.gated_restorer) and not (
        models.missing_for(Method.GATED)
    ):
        replaced = config.hybrid_restorer
        notes.append(
            f"gated restores with {replaced} instead of {config.gated_restorer}, "
            "which reads a mixture-trained copy of the classifier that yours has not"
        )
        config = dataclasses.replace(config, gated_restorer=replaced)
    return models, config, notes


def shipped_with_user_classifier(
    models: ShippedModels, classifier: UserClassifier
) -> ShippedModels:
    """C, G and E with the user's classifier as C."""
    return dataclasses.replace(models, classifier=classifier.model)
