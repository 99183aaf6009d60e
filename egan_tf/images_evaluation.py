"""Every defence on images a user brought, taken as they are (no blur added).

Returns records; `reporting.format_images_result` and `images_json` format
them. The methods run exactly as in the methods grid (one `tf.function` per
batch, the registry's order and reuse), with no knowledge of the true blur:
`wiener-oracle`, which needs it, is not applicable here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from egan_tf.batching import run_batched
from egan_tf.config import IMAGE_SHAPE
from egan_tf.defenses import (
    DefenseConfig,
    DefenseModels,
    Method,
    apply_methods,
    check_methods_available,
    not_loaded_reason,
    observe,
)
from egan_tf.methods_grid import PairedRecord, paired_records
from egan_tf.metrics import wilson_interval
from egan_tf.user_images import LabelledImages

# Why a method cannot run on a user's images whatever networks are loaded.
NEEDS_TRUE_BLUR = "needs the true blur, which the images do not carry"


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One image: its name, true label, B's reading and every method's label.

    Attributes:
        estimated_length: B's l̂ (a fraction of the side), or None without B.
        estimated_angle: B's θ̂ in degrees, or None without B.
        predicted: method name -> predicted class.
    """

    name: str
    label: int
    estimated_length: float | None
    estimated_angle: float | None
    predicted: dict[str, int]


@dataclasses.dataclass(frozen=True)
class ImagesResult:
    """Every method's accuracy on one set of user images.

    Attributes:
        source: Where the images were read from.
        methods: The methods that ran, in order.
        not_applicable: method name -> why it did not run.
        examples: How many images.
        accuracy: method name -> fraction correct in [0, 1].
        interval: method name -> 95 % Wilson interval of that fraction.
        paired: "candidate - baseline" -> paired difference, for the pairs
            of `methods_grid.PAIRED_COMPARISONS` that ran.
        detected_fraction: Share of images B calls blurred (l̂ ≥ the gate),
            or None without B.
        images: One record per image, in input order.
        defense_config: The settings the methods ran with.
        classifier: What C is: "shipped", or the user's classifier's path.
    """

    source: str
    methods: tuple[str, ...]
    not_applicable: dict[str, str]
    examples: int
    accuracy: dict[str, float]
    interval: dict[str, tuple[float, float]]
    paired: dict[str, PairedRecord]
    detected_fraction: float | None
    images: list[ImageRecord]
    defense_config: dict
    classifier: str = "shipped"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def split_applicable(
    models: DefenseModels, config: DefenseConfig, methods: Sequence[Method | str]
) -> tuple[list[Method], dict[str, str]]:
    """The methods that can run on user images with `models`, and why each
    other one cannot (the true blur, or the network files it lacks)."""
    runnable, skipped = [], {}
    for method in (Method(method) for method in methods):
        reason = not_loaded_reason(models, method, config.gated_restorer)
        if method == Method.WIENER_ORACLE:
            skipped[str(method)] = NEEDS_TRUE_BLUR
        elif reason:
            skipped[str(method)] = reason
        else:
            runnable.append(method)
    return runnable, skipped


def make_images_forward(
    models: DefenseModels, config: DefenseConfig, methods: Sequence[Method]
):
    """A compiled function of float32 images [batch, 28, 28, 1] in [0, 1]
    giving each method's labels int64 [batch] and B's estimated length and
    angle float32 [batch] (zeros without B)."""
    check_methods_available(models, methods, config.gated_restorer)
    has_estimator = models.blur_estimator is not None

    @tf.function(
        input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.float32)],
        autograph=False,
    )
    def forward(images):
        unknown = tf.zeros(tf.shape(images)[:1])
        observation = observe(
            models, methods, images, unknown, unknown, with_estimate=has_estimator
        )
        outputs = apply_methods(models, config, methods, observation)
        labels = {
            str(method): tf.argmax(output.logits, axis=-1)
            for method, output in outputs.items()
        }
        if not has_estimator:
            return labels, unknown, unknown
        return labels, observation.estimate.length, observation.estimate.angle

    return forward


def evaluate_images(
    models: DefenseModels,
    config: DefenseConfig,
    images: LabelledImages,
    methods: Sequence[Method | str],
    batch_size: int = 250,
    show_progress: bool = True,
    classifier: str = "shipped",
) -> ImagesResult:
    """Accuracy of every applicable method on `images`, taken as they are.

    Args:
        models: The networks; C is the shipped classifier or the user's.
        config: The methods' settings.
        images: The user's labelled images.
        methods: The methods asked for; those that cannot run are recorded
            in `not_applicable`, not run.
        batch_size: Images per graph call.
        show_progress: Whether to draw a progress bar.
        classifier: What C is, for the record.

    Raises:
        ValueError: When no asked-for method can run.
    """
    runnable, skipped = split_applicable(models, config, methods)
    if not runnable:
        raise ValueError(
            f"No method can run on these images. Received: methods={sorted(skipped)}"
        )
    forward = make_images_forward(models, config, runnable)
    labels, estimated_length, estimated_angle = run_batched(
        forward,
        images.images,
        batch_size,
        description="methods (your images)" if show_progress else None,
    )
    correct = {name: values == images.labels for name, values in labels.items()}
    count = len(images)
    has_estimator = models.blur_estimator is not None
    paired = paired_records({name: row[np.newaxis] for name, row in correct.items()})
    records = [
        ImageRecord(
            name=images.names[index],
            label=int(images.labels[index]),
            estimated_length=float(estimated_length[index]) if has_estimator else None,
            estimated_angle=float(estimated_angle[index]) if has_estimator else None,
            predicted={name: int(values[index]) for name, values in labels.items()},
        )
        for index in range(count)
    ]
    return ImagesResult(
        source=images.source,
        methods=tuple(str(method) for method in runnable),
        not_applicable=skipped,
        examples=count,
        accuracy={name: float(values.mean()) for name, values in correct.items()},
        interval={
            name: wilson_interval(int(values.sum()), count)
            for name, values in correct.items()
        },
        paired=paired[0],
        detected_fraction=float(np.mean(estimated_length >= config.gate_length))
        if has_estimator
        else None,
        images=records,
        defense_config=dataclasses.asdict(config),
        classifier=classifier,
    )
