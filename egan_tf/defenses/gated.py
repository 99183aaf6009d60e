"""`gated`: C(x) for the images B finds sharp, a restoration for the rest.

It never restores an image B finds sharp, which is what keeps it from costing
accuracy on clean and mildly blurred digits.
"""

from __future__ import annotations

from collections.abc import Mapping

import tensorflow as tf

from egan_tf.defenses.config import DefenseConfig
from egan_tf.defenses.hybrid import restore_hybrid
from egan_tf.defenses.models import DefenseModels
from egan_tf.defenses.names import Method
from egan_tf.defenses.observation import BlurEstimate, MethodOutput, Observation
from egan_tf.defenses.restoration import restore


def restore_for_gate(
    models: DefenseModels,
    config: DefenseConfig,
    images: tf.Tensor,
    estimate: BlurEstimate,
) -> MethodOutput:
    """`config.gated_restorer`'s answer for `images` (float32 [batch, 28,
    28, 1] in [0, 1]) with B's `estimate` of their blur."""
    if config.gated_restorer == Method.HYBRID:
        return restore_hybrid(models, config, images, estimate)
    return restore(models, config, config.gated_restorer, images, estimate)


def _top_probability(logits: tf.Tensor) -> tf.Tensor:
    return tf.reduce_max(tf.nn.softmax(logits, axis=-1), axis=-1)


def _restore_routed(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    routed: tf.Tensor,
) -> MethodOutput:
    """The restoration of the rows `routed` (int64 [k], k ≥ 0).

    A batch B finds all sharp restores nothing: `tf.cond` runs the restorer
    only when k > 0, which also keeps an empty batch away from TF's CPU
    convolutions (they fail on one). So a sharp image costs B and C alone,
    in eager code and in an exported graph alike.
    """
    images = observation.images

    def restore_rows():
        restored = restore_for_gate(
            models,
            config,
            tf.gather(images, routed),
            observation.estimate.gather(routed),
        )
        return restored.logits, restored.classified

    def nothing():
        logits = tf.zeros([0, observation.plain.logits.shape[-1]], tf.float32)
        return logits, tf.zeros_like(images[:0])

    logits, classified = tf.cond(tf.size(routed) > 0, restore_rows, nothing)
    return MethodOutput(logits, classified)


def gated(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """C(x) when B's estimated length is below `config.gate_length` (or C is
    confident enough, see `DefenseConfig`), else `config.gated_restorer`.

    When `computed` already holds the restorer's output for the whole batch
    (it ran earlier on this observation), its rows are reused instead of
    restoring the routed images again.
    """
    images, plain = observation.images, observation.plain
    restorer = config.gated_restorer
    full = computed.get(restorer)
    sharp = observation.estimate.length < config.gate_length
    if config.gate_confidence is not None:
        sharp = sharp | (_top_probability(plain.logits) >= config.gate_confidence)
    if config.gate_compare:
        # Comparing confidences needs every image restored.
        if full is None:
            full = restore_for_gate(models, config, images, observation.estimate)
        sharp = sharp | (
            _top_probability(plain.logits) >= _top_probability(full.logits)
        )
        return MethodOutput(
            tf.where(sharp[:, tf.newaxis], plain.logits, full.logits),
            tf.where(
                sharp[:, tf.newaxis, tf.newaxis, tf.newaxis], images, full.classified
            ),
        )
    # Only the images B finds blurred are restored, so a sharp image costs B
    # and C alone.
    routed = tf.where(~sharp)[:, 0]
    if full is not None:
        restored = MethodOutput(
            tf.gather(full.logits, routed), tf.gather(full.classified, routed)
        )
    else:
        restored = _restore_routed(models, config, observation, routed)
    rows = routed[:, tf.newaxis]
    return MethodOutput(
        tf.tensor_scatter_nd_update(plain.logits, rows, restored.logits),
        tf.tensor_scatter_nd_update(images, rows, restored.classified),
    )
