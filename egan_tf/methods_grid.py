"""Every defence over the blur grid, side by side, as records.

All settings and all requested methods run in one `tf.function` per batch of
test images: the batch is blurred once per setting (setting-major), and every
method sees the same blurred tensor. The blur is either the Fourier model the
networks were trained with, or an independent spatial line kernel
(`egan_tf.spatial_blur`) for the out-of-distribution check.
"""

from __future__ import annotations

import dataclasses
import enum
import statistics
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.config import IMAGE_SHAPE
from egan_tf.data import MnistArrays, to_unit_interval
from egan_tf.defenses import (
    DefenseConfig,
    DefenseModels,
    Method,
    estimate_blur,
    make_method_functions,
)
from egan_tf.grid import (
    DEFAULT_GRID_BATCH_SIZE,
    find_point,
    grid_settings,
    run_over_batches,
    validate_grid_request,
)
from egan_tf.spatial_blur import spatial_motion_blur
from egan_tf.training.blur_estimator import angle_difference_degrees

# Below this length (a fraction of the side; 1.4 px on 28 px) a blur has no
# visible direction, so the estimator's angle error is not reported.
ANGLE_REPORT_MIN_LENGTH = 0.05


class BlurKind(enum.StrEnum):
    """Which implementation blurs the test images."""

    FOURIER = "fourier"  # egan_tf.blur: the model the networks were trained with
    SPATIAL = "spatial"  # egan_tf.spatial_blur: a line kernel, for the OOD check


def blur_batch(images: tf.Tensor, length: float, angle: float, kind: BlurKind):
    """Blurs every image of a batch by one setting with the chosen implementation."""
    if length == 0:
        return images
    if kind == BlurKind.SPATIAL:
        return spatial_motion_blur(images, length, angle)
    return apply_motion_blur(images, length, angle)


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
    """

    length: float
    angle: float
    applied_length: float
    accuracy: dict[str, float]
    estimator: EstimatorRecord | None


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

    def point(self, length: float, angle: float) -> MethodsPoint:
        """The record at (length, angle)."""
        return find_point(self.grid, length, angle)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def make_methods_forward(
    models: DefenseModels,
    config: DefenseConfig,
    methods: Sequence[Method],
    settings: Sequence[tuple[float, float]],
    kind: BlurKind,
):
    """A compiled function of uint8 images [batch, 28, 28, 1] giving each
    method's labels int64 [settings, batch] and B's estimated length and angle
    float32 [settings, batch] (zeros without B)."""
    functions = make_method_functions(models, config, methods)

    @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8)])
    def forward(images):
        batch_size = tf.shape(images)[0]
        sharp = to_unit_interval(images)
        blurred = tf.concat(
            [blur_batch(sharp, length, angle, kind) for length, angle in settings],
            axis=0,
        )
        true_length = tf.repeat(
            tf.constant([length for length, _ in settings], tf.float32), batch_size
        )
        true_angle = tf.repeat(
            tf.constant([angle for _, angle in settings], tf.float32), batch_size
        )
        shape = [len(settings), batch_size]
        labels = {
            str(method): tf.reshape(
                tf.argmax(function(blurred, true_length, true_angle).logits, axis=-1),
                shape,
            )
            for method, function in functions.items()
        }
        if models.blur_estimator is None:
            zeros = tf.zeros(shape)
            return labels, zeros, zeros
        length, angle = estimate_blur(models, blurred)
        return labels, tf.reshape(length, shape), tf.reshape(angle, shape)

    return forward


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
    arrays: MnistArrays,
    methods: Sequence[Method | str],
    lengths: Sequence[float],
    angles: Sequence[float],
    length_scale: float = 1.0,
    blur_kind: BlurKind = BlurKind.FOURIER,
    batch_size: int = DEFAULT_GRID_BATCH_SIZE,
    show_progress: bool = True,
) -> MethodsGridResult:
    """Accuracy of every method over the clean images and the (l, θ) grid.

    Raises:
        ModelFileError: When a method's networks are not in `models`.
        ValueError: For bad lengths, angles, length scale or no examples.
    """
    methods = tuple(Method(method) for method in methods)
    if not methods:
        raise ValueError("No methods to evaluate. Received: methods=[]")
    lengths, angles = validate_grid_request(lengths, angles, length_scale, len(arrays))
    pairs = grid_settings(lengths, angles)
    settings = [(length * length_scale, angle) for length, angle in pairs]
    forward = make_methods_forward(models, config, methods, settings, blur_kind)
    labels, estimated_length, estimated_angle = run_over_batches(
        forward,
        arrays,
        batch_size,
        len(pairs),
        f"methods ({blur_kind})",
        show_progress,
        axis=1,
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

    points = [
        MethodsPoint(
            length=length,
            angle=angle,
            applied_length=float(length * length_scale),
            accuracy={
                name: float(values[index].mean()) for name, values in correct.items()
            },
            estimator=estimator_at(index),
        )
        for index, (length, angle) in enumerate(pairs)
        if index > 0
    ]
    return MethodsGridResult(
        methods=tuple(str(method) for method in methods),
        blur_kind=str(blur_kind),
        length_scale=float(length_scale),
        lengths=lengths,
        angles=angles,
        examples=len(arrays),
        clean={name: float(values[0].mean()) for name, values in correct.items()},
        clean_estimator=estimator_at(0),
        grid=points,
        defense_config=dataclasses.asdict(config),
    )


def time_methods(
    models: DefenseModels,
    config: DefenseConfig,
    methods: Sequence[Method | str],
    images: np.ndarray,
    length: float,
    angle: float,
    repeats: int = 3,
) -> dict[str, float]:
    """Cost of each method alone: milliseconds per image, median of `repeats`.

    Each method runs in its own `tf.function` on the same batch of blurred
    images (after one warm-up call), so that the figures are comparable.

    Args:
        images: uint8 [batch, 28, 28, 1].
    """
    blurred = apply_motion_blur(to_unit_interval(images), length, angle)
    count = int(blurred.shape[0])
    true_length = tf.fill([count], float(length))
    true_angle = tf.fill([count], float(angle))
    costs = {}
    for method, function in make_method_functions(models, config, methods).items():
        compiled = tf.function(lambda *args, function=function: function(*args).logits)
        compiled(blurred, true_length, true_angle).numpy()
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            compiled(blurred, true_length, true_angle).numpy()
            seconds.append(time.perf_counter() - start)
        costs[str(method)] = 1000 * statistics.median(seconds) / count
    return costs
