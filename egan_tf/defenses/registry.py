"""Every method by name, and the runner that applies them to one batch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from egan_tf.blur_kinds import blur_strongest
from egan_tf.defenses import classifiers, gated, hybrid, restoration, wiener
from egan_tf.defenses.config import DefenseConfig
from egan_tf.defenses.models import DefenseModels, check_methods_available
from egan_tf.defenses.names import EGAN_BASED_METHODS, Method
from egan_tf.defenses.observation import (
    MethodOutput,
    Observation,
    classify,
    estimate_blur,
)
from egan_tf.grid_spec import GridSpec

MethodFunction = Callable[
    [DefenseModels, DefenseConfig, Observation, Mapping[Method, MethodOutput]],
    MethodOutput,
]


@dataclasses.dataclass(frozen=True)
class MethodEntry:
    """How to run one method.

    Attributes:
        function: (models, config, observation, computed) -> MethodOutput,
            where `computed` holds the outputs of the methods run before it on
            the same observation.
        reads_plain: Whether it reads C(x) from the observation.
        reads_estimate: Whether it reads B's estimate from the observation.
    """

    function: MethodFunction
    reads_plain: bool = False
    reads_estimate: bool = False


METHODS: dict[Method, MethodEntry] = {
    Method.NONE: MethodEntry(classifiers.none, reads_plain=True),
    Method.EGAN: MethodEntry(restoration.egan),
    Method.EGAN_BLUR: MethodEntry(restoration.egan_blur),
    Method.EGAN_REFINE: MethodEntry(restoration.egan_refine, reads_estimate=True),
    Method.GATED: MethodEntry(gated.gated, reads_plain=True, reads_estimate=True),
    Method.WIENER: MethodEntry(wiener.wiener, reads_estimate=True),
    Method.WIENER_ORACLE: MethodEntry(wiener.wiener_oracle),
    Method.AUGMENT: MethodEntry(classifiers.augment),
    Method.AUGMENT_MIXTURE: MethodEntry(classifiers.augment_mixture),
    Method.HYBRID: MethodEntry(hybrid.hybrid, reads_estimate=True),
}


def uses_generator(method: Method | str) -> bool:
    """Whether the image `method` classifies is drawn by G."""
    return Method(method) in EGAN_BASED_METHODS


def observe(
    models: DefenseModels,
    methods: Sequence[Method],
    images: tf.Tensor,
    true_length: tf.Tensor,
    true_angle: tf.Tensor,
    with_estimate: bool = False,
    true_kernels: tf.Tensor | None = None,
) -> Observation:
    """The observation of a batch, with C(x) and B's estimate computed once
    when a method in `methods` reads them (or `with_estimate` asks for B)."""
    entries = [METHODS[Method(method)] for method in methods]
    plain = classify(models, images) if any(e.reads_plain for e in entries) else None
    estimate = None
    if with_estimate or any(entry.reads_estimate for entry in entries):
        estimate = estimate_blur(models, images)
    return Observation(images, true_length, true_angle, plain, estimate, true_kernels)


def apply_methods(
    models: DefenseModels,
    config: DefenseConfig,
    methods: Sequence[Method | str],
    observation: Observation,
) -> dict[Method, MethodOutput]:
    """Runs each method, in the order given, on one observation.

    A method later in the order may reuse what an earlier one computed (the
    `gated` defence reuses its restorer's full batch), so the order is part of
    what is computed, not of the result.

    Raises:
        ModelFileError: When a method's networks are not loaded.
    """
    methods = [Method(method) for method in methods]
    check_methods_available(models, methods, config.gated_restorer)
    computed: dict[Method, MethodOutput] = {}
    for method in methods:
        computed[method] = METHODS[method].function(
            models, config, observation, computed
        )
    return computed


def run_methods(
    models: DefenseModels,
    config: DefenseConfig,
    methods: Sequence[Method | str],
    images: tf.Tensor,
    true_length: tf.Tensor,
    true_angle: tf.Tensor,
    true_kernels: tf.Tensor | None = None,
) -> dict[Method, MethodOutput]:
    """Every method's output on one batch.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        true_length, true_angle: float32 [batch], the blur applied (read only
            by `wiener-oracle`).
        true_kernels: float32 [batch, K, K], the kernels applied by a kernel
            family, or None (read only by `wiener-oracle`).

    Raises:
        ModelFileError: When a method's networks are not loaded.
    """
    methods = [Method(method) for method in methods]
    check_methods_available(models, methods, config.gated_restorer)
    observation = observe(
        models, methods, images, true_length, true_angle, true_kernels=true_kernels
    )
    return apply_methods(models, config, methods, observation)


def method_views(
    models: DefenseModels,
    config: DefenseConfig,
    methods,
    images: tf.Tensor,
    spec: GridSpec,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """What each method shows the classifier, for a figure.

    Args:
        images: float32 [count, 28, 28, 1] in [0, 1], sharp.
        spec: The images are blurred at its strongest setting
            (`GridSpec.strongest`) by its blur.

    Returns:
        (row title, images float32 [count, 28, 28, 1], predicted labels int64
        [count]) for the blurred input seen by C, then for each other method.
    """
    count = int(images.shape[0])
    length, angle = spec.strongest
    blurred = blur_strongest(images, spec)
    ordered = [Method.NONE] + [Method(m) for m in methods if Method(m) != Method.NONE]
    outputs = run_methods(
        models,
        config,
        ordered,
        blurred.images,
        tf.fill([count], float(length)),
        tf.fill([count], float(angle)),
        blurred.kernels,
    )
    return [
        (
            "blurred, C" if method == Method.NONE else str(method),
            np.asarray(output.classified),
            tf.argmax(output.logits, -1).numpy(),
        )
        for method, output in outputs.items()
    ]
