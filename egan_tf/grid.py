"""The paper's experiment: accuracy under motion blur, without and with the EGAN.

`evaluate_grid` returns records (data, not text). All settings of the grid run
in one `tf.function` per batch of images: each image is repeated once per
(l, θ) setting, blurred with per-example parameters, and passed through C and
through C(G(E(.))) in the same graph call.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from egan_tf.batching import run_batched
from egan_tf.blur import apply_motion_blur
from egan_tf.config import IMAGE_SHAPE
from egan_tf.data import ImageArrays, provenance_of, to_unit_interval
from egan_tf.grid_spec import PAPER_GRID, GridSpec, find_point
from egan_tf.metrics import wilson_interval
from egan_tf.model_io import ModelFileError, ShippedModels


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
    """The whole grid and the clean reference figures (fractions in [0, 1]).

    `data` is where the test images came from (`DataProvenance` as a dict),
    or None for arrays made in code.
    """

    clean_accuracy: float
    egan_accuracy: float
    length_scale: float
    lengths: tuple[float, ...]
    angles: tuple[float, ...]
    examples: int
    grid: list[GridPoint]
    data: dict | None = None

    def point(self, length: float, angle: float) -> GridPoint:
        """The record at (length, angle)."""
        return find_point(self.grid, length, angle)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def make_grid_forward(
    models: ShippedModels,
    lengths: np.ndarray,
    angles: np.ndarray,
    jit_compile: bool = False,
):
    """Returns a compiled function of uint8 images [batch, 28, 28, 1] giving
    C's and C(G(E(.)))'s labels, each int64 [batch, settings], for the blur
    settings (lengths[k], angles[k]), k = 0 … settings-1; with `jit_compile`,
    compiled by XLA (slower than TensorFlow's oneDNN kernels on this CPU:
    bench/precision_speed.py)."""
    setting_lengths = tf.constant(lengths, tf.float32)
    setting_angles = tf.constant(angles, tf.float32)
    settings = int(lengths.shape[0])

    @tf.function(
        input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8)],
        jit_compile=jit_compile,
        autograph=False,
    )
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
    arrays: ImageArrays,
    spec: GridSpec = PAPER_GRID,
    show_progress: bool = True,
    jit_compile: bool = False,
) -> GridResult:
    """Accuracy of C(blur(x)) and C(G(E(blur(x)))) over a grid of (l, θ).

    Args:
        models: C, G and E.
        arrays: Test examples.
        spec: The lengths, angles, length scale and batch size (the paper's
            grid by default). Only the Fourier blur is evaluated here.
        show_progress: Whether to draw one progress bar for the grid.
        jit_compile: Compile the grid's graph with XLA.

    Raises:
        ModelFileError: If `models` has no EGAN.
        ValueError: For no examples or a blur other than the Fourier model.
    """
    if not models.has_egan:
        raise ModelFileError("The grid needs generator.keras and encoder.keras.")
    if len(arrays) == 0:
        raise ValueError("No test examples to evaluate. Received: examples=0")
    if spec.blur != "fourier":
        raise ValueError(
            "The paper's grid uses the Fourier blur; other blurs go with methods. "
            f"Received: blur={spec.blur}"
        )
    settings = spec.settings
    forward = make_grid_forward(
        models,
        np.array([length for length, _ in settings], np.float32),
        np.array([angle for _, angle in settings], np.float32),
        jit_compile,
    )
    plain, defended = run_batched(
        forward,
        arrays.images,
        spec.batch_size,
        description="grid" if show_progress else None,
        units_per_example=len(settings),
    )
    correct_plain = plain == arrays.labels[:, None]
    correct_defended = defended == arrays.labels[:, None]
    subset = correct_plain[:, 0]
    points = []
    for index, (length, angle) in enumerate(spec.points, start=1):
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
                applied_length=float(length * spec.length_scale),
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
        length_scale=spec.length_scale,
        lengths=spec.lengths,
        angles=spec.angles,
        examples=len(arrays),
        grid=points,
        data=provenance_of(arrays),
    )


def restoration_examples(
    models: ShippedModels, images: np.ndarray, spec: GridSpec
) -> tuple[list[np.ndarray], list[str]]:
    """Rows of digits for a figure: clean, then blurred and restored for each
    length of `spec` at its first angle.

    Args:
        images: uint8 [count, 28, 28, 1].

    Returns:
        (rows, titles): arrays [count, 28, 28, 1] in [0, 1] and their labels.
    """
    clean = to_unit_interval(images)
    rows, titles = [clean.numpy()], ["clean"]
    for length, applied in zip(spec.lengths, spec.applied_lengths, strict=True):
        blurred = apply_motion_blur(clean, applied, spec.angles[0])
        restored = models.generator(
            models.encoder(blurred, training=False), training=False
        )
        rows += [blurred.numpy(), np.asarray(restored)]
        titles += [f"blur l={length:g}", "G(E(blur))"]
    return rows, titles
