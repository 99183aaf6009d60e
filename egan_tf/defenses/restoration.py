"""Methods that classify G's restoration: `egan`, `egan-blur`, `egan-refine`."""

from __future__ import annotations

from collections.abc import Mapping

import tensorflow as tf

from egan_tf.defenses.config import DefenseConfig
from egan_tf.defenses.models import DefenseModels
from egan_tf.defenses.names import Method
from egan_tf.defenses.observation import (
    BlurEstimate,
    MethodOutput,
    Observation,
    classify,
)
from egan_tf.defenses.refinement import refine_latent


def restore(
    models: DefenseModels,
    config: DefenseConfig,
    restorer: Method,
    images: tf.Tensor,
    estimate: BlurEstimate | None,
) -> MethodOutput:
    """C on the `egan-blur` or `egan-refine` restoration of `images`.

    Args:
        restorer: `Method.EGAN_BLUR` (G(E_blur(x))) or `Method.EGAN_REFINE`
            (E_blur's latent refined through G and B's estimated blur).
        images: float32 [batch, 28, 28, 1] in [0, 1].
        estimate: B's estimate for `images` (unused by `egan-blur`).
    """
    latent = models.encoder_blur(images, training=False)
    if restorer == Method.EGAN_REFINE:
        latent = refine_latent(
            models.generator,
            latent,
            images,
            estimate.length,
            estimate.angle,
            config.refine_steps,
            config.refine_learning_rate,
            config.refine_kernel_learning_rate,
            config.refine_kernel_size,
        )
    return classify(models, models.generator(latent, training=False))


def egan(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """The paper's defence, C(G(E(x)))."""
    latent = models.encoder(observation.images, training=False)
    return classify(models, models.generator(latent, training=False))


def egan_blur(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """C(G(E_blur(x))), with E fine-tuned on blurred inputs."""
    return restore(models, config, Method.EGAN_BLUR, observation.images, None)


def egan_refine(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """E_blur's latent refined through G and B's estimated blur, then C."""
    return restore(
        models, config, Method.EGAN_REFINE, observation.images, observation.estimate
    )
