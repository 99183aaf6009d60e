"""Every defence over the blur grid, side by side, as records.

All settings and all requested methods run in one `tf.function` per batch of
test images: the batch is blurred once per setting (setting-major), and every
method sees the same blurred tensor. The blur is either the Fourier model the
networks were trained with, or an independent spatial line kernel
(`egan_tf.spatial_blur`) for the out-of-distribution check.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from egan_tf.batching import run_batched
from egan_tf.blur_kinds import blur_setting, blur_strongest
from egan_tf.config import IMAGE_SHAPE, KERNEL_SIZE
from egan_tf.data import ImageArrays, provenance_of, to_unit_interval
from egan_tf.defenses import (
    DefenseConfig,
    DefenseModels,
    Method,
    apply_methods,
    check_methods_available,
    observe,
    run_methods,
)
from egan_tf.grid_spec import BlurKind, GridSpec, find_point
from egan_tf.kernels import delta_kernels
from egan_tf.metrics import angle_difference_degrees, paired_difference

# Below this length (a fraction of the side; 1.4 px on 28 px) a blur has no
# visible direction, so the estimator's angle error is not reported.
ANGLE_REPORT_MIN_LENGTH = 0.05

# The pairs whose per-image paired difference is recorded at every point,
# each (candidate, baseline): a claim of the product is about each of them
# (`gated` never costs accuracy; the refinement does not end below its start;
# the hybrid earns its generator).
PAIRED_COMPARISONS = (
    (Method.GATED, Method.NONE),
    (Method.EGAN_REFINE, Method.EGAN_BLUR),
    (Method.HYBRID, Method.AUGMENT_MIXTURE),
)


@dataclasses.dataclass(frozen=True)
class PairedRecord:
    """One candidate against its baseline on the same images at one point.

    Attributes:
        difference: Mean of candidate correct - baseline correct, in [-1, 1].
        low, high: The 95 % interval of that paired difference.
    """

    difference: float
    low: float
    high: float


@dataclasses.dataclass(frozen=True)
class EstimatorRecord:
    """How well B read the blur at one setting.

    Attributes:
        length_mae: Mean |estimated l - true l|, in fractions of the side.
        angle_mae_degrees: Mean angular error over the circle, or None when
            the blur is shorter than `ANGLE_REPORT_MIN_LENGTH`.
        detected_fraction: Share of images B calls blurred (l̂ ≥ the gate).
    """

    length_mae: float
    angle_mae_degrees: float | None
    detected_fraction: float


@dataclasses.dataclass(frozen=True)
class MethodsPoint:
    """Accuracy of every method at one setting, over all test images.

    Attributes:
        length: l as given (before the length scale).
        angle: θ in degrees.
        applied_length: l * length scale, the blur applied.
        accuracy: method name -> fraction correct in [0, 1].
        estimator: B's errors here, or None without B.
        paired: "candidate - baseline" -> its `PairedRecord`, for every pair
            of `PAIRED_COMPARISONS` whose two methods ran.
    """

    length: float
    angle: float
    applied_length: float
    accuracy: dict[str, float]
    estimator: EstimatorRecord | None
    paired: dict[str, PairedRecord] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class MethodsGridResult:
    """Every method over the grid, plus the clean row.

    Attributes:
        clean: method name -> accuracy on the sharp test images.
        clean_estimator: B's record on sharp images (its detected fraction is
            its false-alarm rate), or None.
        grid: One record per (l, θ), row-major.
        defense_config: The settings the methods ran with (DefenseConfig as
            a dict).
        data: Where the test images came from (`DataProvenance` as a dict),
            or None for arrays made in code.
        noise: The read noise added after the blur (0: no sensor model).
        clean_paired: The clean row's paired records (see `MethodsPoint`).
    """

    methods: tuple[str, ...]
    blur_kind: str
    length_scale: float
    lengths: tuple[float, ...]
    angles: tuple[float, ...]
    examples: int
    clean: dict[str, float]
    clean_estimator: EstimatorRecord | None
    grid: list[MethodsPoint]
    defense_config: dict
    data: dict | None = None
    noise: float = 0.0
    clean_paired: dict[str, PairedRecord] = dataclasses.field(default_factory=dict)

    def point(self, length: float, angle: float) -> MethodsPoint:
        """The record at (length, angle)."""
        return find_point(self.grid, length, angle)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def blur_all_settings(
    sharp: tf.Tensor, indices: tf.Tensor, spec: GridSpec
) -> tuple[tf.Tensor, tf.Tensor | None]:
    """Every setting of `spec` applied to a batch, setting-major.

    Args:
        sharp: float32 [batch, 28, 28, 1] in [0, 1].
        indices: int64 [batch], the images' indices in their data set.

    Returns:
        blurred float32 [settings · batch, 28, 28, 1], and the kernels
        applied float32 [settings · batch, K, K] for the kernel families
        (None for the Fourier and spatial blurs).
    """
    batches = [
        blur_setting(
            sharp, indices, length, angle, spec.blur, spec.noise, spec.seed, setting
        )
        for setting, (length, angle) in enumerate(spec.settings)
    ]
    blurred = tf.concat([batch.images for batch in batches], axis=0)
    if spec.blur in (BlurKind.FOURIER, BlurKind.SPATIAL):
        return blurred, None
    delta = delta_kernels(tf.shape(sharp)[0], KERNEL_SIZE)
    kernels = [delta if batch.kernels is None else batch.kernels for batch in batches]
    return blurred, tf.concat(kernels, axis=0)


def make_methods_forward(
    models: DefenseModels,
    config: DefenseConfig,
    methods: Sequence[Method],
    spec: GridSpec,
):
    """A compiled function of uint8 images [batch, 28, 28, 1] and their int64
    indices [batch] giving each method's labels int64 [settings, batch] and
    B's estimated length and angle float32 [settings, batch] (zeros without
    B), for every setting of `spec`."""
    check_methods_available(models, methods, config.gated_restorer)
    has_estimator = models.blur_estimator is not None
    settings = spec.settings

    # Without AutoGraph, as every graph function here: the methods loop with
    # tf.while_loop and branch with tf.cond, so the graph is the same, and
    # converting the source of every function called (Keras' layers too) was
    # more than half the trace (bench/trace_time.py).
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8),
            tf.TensorSpec([None], tf.int64),
        ],
        autograph=False,
    )
    def forward(images, indices):
        batch_size = tf.shape(images)[0]
        blurred, kernels = blur_all_settings(to_unit_interval(images), indices, spec)
        true_length = tf.repeat(
            tf.constant([length for length, _ in settings], tf.float32), batch_size
        )
        true_angle = tf.repeat(
            tf.constant([angle for _, angle in settings], tf.float32), batch_size
        )
        shape = [len(settings), batch_size]
        observation = observe(
            models, methods, blurred, true_length, true_angle, has_estimator, kernels
        )
        outputs = apply_methods(models, config, methods, observation)
        labels = {
            str(method): tf.reshape(tf.argmax(output.logits, axis=-1), shape)
            for method, output in outputs.items()
        }
        if not has_estimator:
            zeros = tf.zeros(shape)
            return labels, zeros, zeros
        estimate = observation.estimate
        return (
            labels,
            tf.reshape(estimate.length, shape),
            tf.reshape(estimate.angle, shape),
        )

    return forward


def paired_records(correct: dict[str, np.ndarray]) -> list[dict[str, PairedRecord]]:
    """Per setting, the paired record of every pair of `PAIRED_COMPARISONS`
    whose two methods are in `correct` (name -> bool [settings, images])."""
    pairs = [
        (str(candidate), str(baseline))
        for candidate, baseline in PAIRED_COMPARISONS
        if str(candidate) in correct and str(baseline) in correct
    ]
    settings = len(next(iter(correct.values())))
    records: list[dict[str, PairedRecord]] = [{} for _ in range(settings)]
    for candidate, baseline in pairs:
        if correct[candidate].shape[1] < 2:
            continue
        means, lows, highs = paired_difference(correct[candidate], correct[baseline])
        for index in range(settings):
            records[index][f"{candidate} - {baseline}"] = PairedRecord(
                float(means[index]), float(lows[index]), float(highs[index])
            )
    return records


def _estimator_record(
    estimated_length: np.ndarray,
    estimated_angle: np.ndarray,
    length: float,
    angle: float,
    gate_length: float,
) -> EstimatorRecord:
    angle_error = None
    if length >= ANGLE_REPORT_MIN_LENGTH:
        angle_error = float(np.mean(angle_difference_degrees(estimated_angle, angle)))
    return EstimatorRecord(
        length_mae=float(np.mean(np.abs(estimated_length - length))),
        angle_mae_degrees=angle_error,
        detected_fraction=float(np.mean(estimated_length >= gate_length)),
    )


def evaluate_methods_grid(
    models: DefenseModels,
    config: DefenseConfig,
    arrays: ImageArrays,
    methods: Sequence[Method | str],
    spec: GridSpec,
    show_progress: bool = True,
) -> MethodsGridResult:
    """Accuracy of every method over the clean images and the (l, θ) grid.

    Args:
        models: The networks the methods run on.
        config: The methods' settings.
        arrays: Test examples.
        methods: Method names or members.
        spec: Lengths, angles, length scale, blur kind and batch size.
        show_progress: Whether to draw one progress bar.

    Raises:
        ModelFileError: When a method's networks are not in `models`.
        ValueError: For no methods or no examples.
    """
    methods = tuple(Method(method) for method in methods)
    if not methods:
        raise ValueError("No methods to evaluate. Received: methods=[]")
    if len(arrays) == 0:
        raise ValueError("No test examples to evaluate. Received: examples=0")
    settings = spec.settings
    forward = make_methods_forward(models, config, methods, spec)
    labels, estimated_length, estimated_angle = run_batched(
        forward,
        (arrays.images, np.arange(len(arrays), dtype=np.int64)),
        spec.batch_size,
        axis=1,
        description=f"methods ({spec.blur})" if show_progress else None,
        units_per_example=len(settings),
    )
    correct = {
        name: values == arrays.labels[np.newaxis, :] for name, values in labels.items()
    }
    has_estimator = models.blur_estimator is not None

    def estimator_at(index):
        if not has_estimator:
            return None
        applied, angle = settings[index]
        return _estimator_record(
            estimated_length[index],
            estimated_angle[index],
            applied,
            angle,
            config.gate_length,
        )

    paired = paired_records(correct)
    points = [
        MethodsPoint(
            length=length,
            angle=angle,
            applied_length=float(length * spec.length_scale),
            accuracy={
                name: float(values[index].mean()) for name, values in correct.items()
            },
            estimator=estimator_at(index),
            paired=paired[index],
        )
        for index, (length, angle) in enumerate(spec.points, start=1)
    ]
    return MethodsGridResult(
        methods=tuple(str(method) for method in methods),
        blur_kind=str(spec.blur),
        length_scale=spec.length_scale,
        lengths=spec.lengths,
        angles=spec.angles,
        examples=len(arrays),
        clean={name: float(values[0].mean()) for name, values in correct.items()},
        clean_estimator=estimator_at(0),
        grid=points,
        defense_config=dataclasses.asdict(config),
        data=provenance_of(arrays),
        noise=spec.noise,
        clean_paired=paired[0],
    )


def time_methods(
    models: DefenseModels,
    config: DefenseConfig,
    methods: Sequence[Method | str],
    images: np.ndarray,
    spec: GridSpec,
    repeats: int = 3,
) -> dict[str, float]:
    """Cost of each method alone: milliseconds per image, median of `repeats`,
    at the strongest setting of `spec` (`GridSpec.strongest`).

    Each method runs in its own `tf.function` on the same batch of blurred
    images (after one warm-up call), so that the figures are comparable.

    Args:
        images: uint8 [batch, 28, 28, 1].
    """
    length, angle = spec.strongest
    count = int(images.shape[0])
    blurred = blur_strongest(to_unit_interval(images), spec)
    true_length = tf.fill([count], float(length))
    true_angle = tf.fill([count], float(angle))
    costs = {}
    for method in methods:
        compiled = tf.function(
            lambda *args, method=method: (
                run_methods(
                    models, config, [method], *args, true_kernels=blurred.kernels
                )[Method(method)].logits
            ),
            autograph=False,
        )
        compiled(blurred.images, true_length, true_angle).numpy()
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            compiled(blurred.images, true_length, true_angle).numpy()
            seconds.append(time.perf_counter() - start)
        costs[str(method)] = 1000 * statistics.median(seconds) / count
    return costs
