"""Methods that classify the observed image as it is: `none`, and the
classifiers trained on blurred images, `augment` and `augment-mixture`."""

from __future__ import annotations

from collections.abc import Mapping

from egan_tf.defenses.config import DefenseConfig
from egan_tf.defenses.models import DefenseModels
from egan_tf.defenses.names import Method
from egan_tf.defenses.observation import MethodOutput, Observation


def none(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """C(x): no defence."""
    return observation.plain


def augment(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """C_aug(x): C's architecture trained with blur augmentation."""
    return _read_as_is(models.classifier_augment, observation.images)


def augment_mixture(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """C_mix(x): C's architecture trained on the blur mixture of issue 12."""
    return _read_as_is(models.classifier_mixture, observation.images)


def _read_as_is(network, images):
    """`network`'s logits on the observed images, which it classifies as they are."""
    return MethodOutput(network(images, training=False), images)
