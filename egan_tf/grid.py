"""The paper's experiment: accuracy under motion blur, without and with the EGAN.

`evaluate_grid` returns records (data, not text). All settings of the grid run
in one `tf.function` per batch of images: each image is repeated once per
(l, θ) setting, blurred with per-example parameters, and passed through C and
through C(G(E(.))) in the same graph call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from egan_tf.blur import apply_motion_blur
from egan_tf.config import IMAGE_SHAPE
from egan_tf.data import MnistArrays, to_unit_interval
from egan_tf.model_io import ModelFileError, ShippedModels

PAPER_LENGTHS = (0.01, 0.02, 0.03, 0.04, 0.05)
PAPER_ANGLES = (0.0, 15.0, 30.0, 45.0)
DEFAULT_GRID_BATCH_SIZE = 250
# z for a two-sided 95 % interval.
_Z_95 = 1.959963984540054


def wilson_interval(correct: int, total: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion correct/total, in [0, 1]."""
    if total == 0:
        return (0.0, 1.0)
    proportion = correct / total
    denominator = 1 + _Z_95**2 / total
    centre = (proportion + _Z_95**2 / (2 * total)) / denominator
    half_width = (
        _Z_95
        * math.sqrt(proportion * (1 - proportion) / total + _Z_95**2 / (4 * total**2))
        / denominator
    )
    return (max(0.0, centre - half_width), min(1.0, centre + half_width))


def find_point(points, length: float, angle: float):
    """The record of `points` at (length, angle); KeyError when there is none."""
    for point in points:
        if point.length == length and point.angle == angle:
            return point
    raise KeyError(f"No grid point at length={length}, angle={angle}")


@dataclasses.dataclass(frozen=True)
class GridPoint:
    """Accuracies at one blur setting.

    `accuracy_blurred` and `accuracy_defended` are over the paper's subset: the
    test images C classifies correctly when clean (`subset_examples` of them).
    The `_all` figures are over every image (`examples`). All are fractions in
    [0, 1]; each has a 95 % Wilson interval `(low, high)` in `intervals`.

    Attributes:
        length: l as given (before `length_scale`).
        angle: θ in degrees.
        applied_length: l * length_scale, the length the blur used.
    """

    length: float
    angle: float
    applied_length: float
    accuracy_blurred: float
    accuracy_defended: float
    accuracy_blurred_all: float
    accuracy_defended_all: float
    subset_examples: int
    examples: int
    intervals: dict[str, tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class GridResult:
    """The whole grid and the clean reference figures (fractions in [0, 1])."""

    clean_accuracy: float
    egan_accuracy: float
    length_scale: float
    lengths: tuple[float, ...]
    angles: tuple[float, ...]
    examples: int
    grid: list[GridPoint]

    def point(self, length: float, angle: float) -> GridPoint:
        """The record at (length, angle)."""
        return find_point(self.grid, length, angle)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def validate_grid_values(values: Sequence[float], name: str, minimum=None) -> tuple:
    """Checks a list of lengths or angles; returns it as a tuple of floats.

    Raises:
        ValueError: For an empty list, a non-finite value or one below `minimum`.
    """
    values = tuple(float(value) for value in values)
    if not values:
        raise ValueError(f"{name} must not be empty. Received: {name}=[]")
    for value in values:
        if not math.isfinite(value) or (minimum is not None and value < minimum):
            raise ValueError(
                f"{name} must be finite"
                + (f" and at least {minimum:g}" if minimum is not None else "")
                + f". Received: {name}={list(values)}"
            )
    return values


def validate_grid_request(
    lengths: Sequence[float],
    angles: Sequence[float],
    length_scale: float,
    examples: int,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Checks the arguments every grid evaluation takes.

    Returns:
        The lengths and angles as tuples of floats.

    Raises:
        ValueError: For empty, negative or non-finite lengths or angles, a
            non-positive length scale, or no examples.
    """
    lengths = validate_grid_values(lengths, "lengths", minimum=0.0)
    angles = validate_grid_values(angles, "angles")
    if not (math.isfinite(length_scale) and length_scale > 0):
        raise ValueError(
            f"length_scale must be finite and positive. Received: length_scale={length_scale}"
        )
    if examples == 0:
        raise ValueError("No test examples to evaluate. Received: examples=0")
    return lengths, angles


def grid_settings(
    lengths: Sequence[float], angles: Sequence[float]
) -> list[tuple[float, float]]:
    """The settings of a grid evaluation: (0, 0) for the clean images first,
    then every (l, θ) in row-major order."""
    return [(0.0, 0.0)] + [(length, angle) for length in lengths for angle in angles]


def run_over_batches(
    forward,
    arrays: MnistArrays,
    batch_size: int,
    settings: int,
    description: str,
    show_progress: bool,
    axis: int,
):
    """Runs a compiled grid function over `arrays` batch by batch, with one
    progress bar counted in image-settings.

    Args:
        forward: Function of uint8 images [batch, 28, 28, 1] returning a
            nested structure of tensors, each with the batch along `axis`.
        settings: Blur settings per image, for the progress count.
        axis: The batch axis of `forward`'s outputs.

    Returns:
        The same structure, NumPy arrays concatenated over all batches.
    """
    batches = []
    with tqdm(
        total=len(arrays) * settings,
        desc=description,
        unit="img",
        unit_scale=True,
        disable=not show_progress,
        dynamic_ncols=True,
    ) as bar:
        for start in range(0, len(arrays), batch_size):
            images = arrays.images[start : start + batch_size]
            batches.append(tf.nest.map_structure(np.asarray, forward(images)))
            bar.update(images.shape[0] * settings)
    return tf.nest.map_structure(
        lambda *parts: np.concatenate(parts, axis=axis), *batches
    )


def make_grid_forward(models: ShippedModels, lengths: np.ndarray, angles: np.ndarray):
    """Returns a compiled function of uint8 images [batch, 28, 28, 1] giving
    C's and C(G(E(.)))'s labels, each int64 [batch, settings], for the blur
    settings (lengths[k], angles[k]), k = 0 … settings-1."""
    setting_lengths = tf.constant(lengths, tf.float32)
    setting_angles = tf.constant(angles, tf.float32)
    settings = int(lengths.shape[0])

    @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8)])
    def forward(images):
        batch_size = tf.shape(images)[0]
        # Image-major order: row i * settings + k is image i under setting k.
        tiled = tf.repeat(to_unit_interval(images), settings, axis=0)
        blurred = apply_motion_blur(
            tiled,
            tf.tile(setting_lengths, [batch_size]),
            tf.tile(setting_angles, [batch_size]),
        )
        plain = tf.argmax(models.classifier(blurred, training=False), axis=-1)
        restored = models.generator(
            models.encoder(blurred, training=False), training=False
        )
        defended = tf.argmax(models.classifier(restored, training=False), axis=-1)
        return (
            tf.reshape(plain, [batch_size, settings]),
            tf.reshape(defended, [batch_size, settings]),
        )

    return forward


def evaluate_grid(
    models: ShippedModels,
    arrays: MnistArrays,
    lengths: Sequence[float] = PAPER_LENGTHS,
    angles: Sequence[float] = PAPER_ANGLES,
    length_scale: float = 1.0,
    batch_size: int = DEFAULT_GRID_BATCH_SIZE,
    show_progress: bool = True,
) -> GridResult:
    """Accuracy of C(blur(x)) and C(G(E(blur(x)))) over a grid of (l, θ).

    Args:
        models: C, G and E.
        arrays: Test examples.
        lengths: Blur lengths l (fractions of the image side), each ≥ 0.
        angles: Blur angles θ in degrees.
        length_scale: Multiplier on every l (> 0); 1 is the paper's convention.
        batch_size: Images per graph call (each is repeated once per setting).
        show_progress: Whether to draw one progress bar for the grid.

    Raises:
        ModelFileError: If `models` has no EGAN.
        ValueError: For empty, negative or non-finite lengths or angles, a
            non-positive length scale or no examples.
    """
    if not models.has_egan:
        raise ModelFileError("The grid needs generator.keras and encoder.keras.")
    lengths, angles = validate_grid_request(lengths, angles, length_scale, len(arrays))
    pairs = grid_settings(lengths, angles)
    setting_lengths = np.array([pair[0] * length_scale for pair in pairs], np.float32)
    setting_angles = np.array([pair[1] for pair in pairs], np.float32)
    forward = make_grid_forward(models, setting_lengths, setting_angles)
    plain, defended = run_over_batches(
        forward, arrays, batch_size, len(pairs), "grid", show_progress, axis=0
    )
    correct_plain = plain == arrays.labels[:, None]
    correct_defended = defended == arrays.labels[:, None]
    subset = correct_plain[:, 0]
    points = []
    for index, (length, angle) in enumerate(pairs[1:], start=1):
        counts = {
            "accuracy_blurred": (
                int(correct_plain[subset, index].sum()),
                int(subset.sum()),
            ),
            "accuracy_defended": (
                int(correct_defended[subset, index].sum()),
                int(subset.sum()),
            ),
            "accuracy_blurred_all": (int(correct_plain[:, index].sum()), len(arrays)),
            "accuracy_defended_all": (
                int(correct_defended[:, index].sum()),
                len(arrays),
            ),
        }
        points.append(
            GridPoint(
                length=length,
                angle=angle,
                applied_length=float(length * length_scale),
                **{key: k / max(n, 1) for key, (k, n) in counts.items()},
                subset_examples=int(subset.sum()),
                examples=len(arrays),
                intervals={
                    key: wilson_interval(k, n) for key, (k, n) in counts.items()
                },
            )
        )
    return GridResult(
        clean_accuracy=float(correct_plain[:, 0].mean()),
        egan_accuracy=float(correct_defended[:, 0].mean()),
        length_scale=float(length_scale),
        lengths=lengths,
        angles=angles,
        examples=len(arrays),
        grid=points,
    )


def restoration_examples(
    models: ShippedModels,
    images: np.ndarray,
    lengths: Sequence[float],
    angle: float = 0.0,
    length_scale: float = 1.0,
) -> tuple[list[np.ndarray], list[str]]:
    """Rows of digits for a figure: clean, then blurred and restored per length.

    Args:
        images: uint8 [count, 28, 28, 1].

    Returns:
        (rows, titles): arrays [count, 28, 28, 1] in [0, 1] and their labels.
    """
    clean = to_unit_interval(images)
    rows, titles = [clean.numpy()], ["clean"]
    for length in lengths:
        blurred = apply_motion_blur(clean, length * length_scale, angle)
        restored = models.generator(
            models.encoder(blurred, training=False), training=False
        )
        rows += [blurred.numpy(), np.asarray(restored)]
        titles += [f"blur l={length:g}", "G(E(blur))"]
    return rows, titles
