"""`hybrid`: the mixture-trained classifier on the image, and C on G's
restoration, combined as a weighted product of their class probabilities.

The two readers fail differently: C_mix reads the blur it was trained on well
and unfamiliar blur worse, while G's restoration turns any input into a sharp
digit that C reads as it reads clean digits, right or wrong. Adding their log
probabilities lets whichever is more certain decide an image. The method is
EGAN-based: one of the two images whose answers it combines is drawn by G.
"""

from __future__ import annotations

from collections.abc import Mapping

import tensorflow as tf

from egan_tf.defenses.config import DefenseConfig
from egan_tf.defenses.models import DefenseModels
from egan_tf.defenses.names import Method
from egan_tf.defenses.observation import BlurEstimate, MethodOutput, Observation
from egan_tf.defenses.restoration import restore


def combine_logits(
    mixture_logits: tf.Tensor, restored_logits: tf.Tensor, restored_weight: float
) -> tf.Tensor:
    """The weighted product of two classifiers' class probabilities, as logits.

    Args:
        mixture_logits: float32 [batch, classes], C_mix on the observed image.
        restored_logits: float32 [batch, classes], C on G's restoration.
        restored_weight: The restoration's weight (> 0) relative to C_mix's 1.

    Returns:
        float32 [batch, classes]: log p_mix + w log p_restored, which is a
        log probability up to a per-row constant (its softmax is the
        normalised product of p_mix and p_restored^w).
    """
    return tf.nn.log_softmax(mixture_logits, axis=-1) + restored_weight * (
        tf.nn.log_softmax(restored_logits, axis=-1)
    )


def restore_hybrid(
    models: DefenseModels,
    config: DefenseConfig,
    images: tf.Tensor,
    estimate: BlurEstimate,
    computed: Mapping[Method, MethodOutput] | None = None,
) -> MethodOutput:
    """The hybrid answer for `images` (float32 [batch, 28, 28, 1] in [0, 1]).

    G's restoration is `config.hybrid_restorer`'s (`egan-blur`, or
    `egan-refine` from B's `estimate`). Outputs of that restorer and of
    `augment-mixture` already in `computed` for these very images are reused.

    Returns:
        The combined logits, and G's restoration as the classified image.
    """
    computed = computed or {}
    restorer = config.hybrid_restorer
    restored = computed.get(restorer) or restore(
        models, config, restorer, images, estimate
    )
    mixture = computed.get(Method.AUGMENT_MIXTURE)
    mixture_logits = (
        mixture.logits
        if mixture is not None
        else models.classifier_mixture(images, training=False)
    )
    return MethodOutput(
        combine_logits(mixture_logits, restored.logits, config.hybrid_weight),
        restored.classified,
    )


def hybrid(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """C_mix(x) and C on G's restoration, combined by `combine_logits`."""
    return restore_hybrid(
        models, config, observation.images, observation.estimate, computed
    )
