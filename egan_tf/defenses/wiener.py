"""Classical baselines: Wiener deconvolution with B's or the true blur."""

from __future__ import annotations

from collections.abc import Mapping

from egan_tf.deconvolution import wiener_deconvolve, wiener_deconvolve_kernels
from egan_tf.defenses.config import DefenseConfig
from egan_tf.defenses.models import DefenseModels
from egan_tf.defenses.names import Method
from egan_tf.defenses.observation import MethodOutput, Observation, classify


def wiener(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """Wiener deconvolution with B's estimated (l, θ), then C."""
    estimate = observation.estimate
    return classify(
        models,
        wiener_deconvolve(
            observation.images,
            estimate.length,
            estimate.angle,
            config.wiener_noise_to_signal,
        ),
    )


def wiener_oracle(
    models: DefenseModels,
    config: DefenseConfig,
    observation: Observation,
    computed: Mapping[Method, MethodOutput],
) -> MethodOutput:
    """Wiener deconvolution with the true blur, (l, θ) or the applied kernel:
    an upper bound, not a method a deployment can run."""
    if observation.true_kernels is not None:
        return classify(
            models,
            wiener_deconvolve_kernels(
                observation.images,
                observation.true_kernels,
                config.wiener_noise_to_signal,
            ),
        )
    return classify(
        models,
        wiener_deconvolve(
            observation.images,
            observation.true_length,
            observation.true_angle,
            config.wiener_noise_to_signal,
        ),
    )
