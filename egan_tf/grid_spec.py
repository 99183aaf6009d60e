"""What a blur-grid evaluation measures: one frozen, validated `GridSpec`.

Every entry point (the command line, `evaluate_grid`, `evaluate_methods_grid`,
`time_methods` and the figure helpers) takes this one record, so that a blur
setting is checked in exactly one place and the defaults live in exactly one
place. The module imports neither TensorFlow nor Keras: the command line
builds and checks a spec before the three seconds TensorFlow takes to load.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Sequence

from egan_tf.config import IMAGE_SIZE, KERNEL_SIZE

# The paper's grid: l as a fraction of the image side, θ in degrees.
PAPER_LENGTHS = (0.01, 0.02, 0.03, 0.04, 0.05)
PAPER_ANGLES = (0.0, 15.0, 30.0, 45.0)
DEFAULT_GRID_BATCH_SIZE = 250
# A streak as long as the image side already smears a digit over the whole
# frame; the Fourier model wraps anything longer around the image again.
MAX_BLUR_LENGTH = 1.0
# θ and θ ± 360° are the same motion; larger angles are a typing mistake.
MAX_ABS_ANGLE = 360.0
# Read noise beyond this standard deviation drowns a digit.
MAX_NOISE = 0.5
# Camera shake: trajectory extents of 2 to 10 pixels, as fractions of the side.
SHAKE_LENGTHS = tuple(extent / IMAGE_SIZE for extent in (2.0, 4.0, 6.0, 8.0, 10.0))
# How fast a trail's weight falls along its path: exp(-3 t), 5 % at the end.
TRAIL_DECAY = 3.0


class BlurKind(enum.StrEnum):
    """Which implementation blurs the test images."""

    FOURIER = "fourier"  # egan_tf.blur: the model the networks were trained with
    SPATIAL = "spatial"  # egan_tf.spatial_blur: a line kernel, for the OOD check
    TRAIL = "trail"  # a one-sided streak whose weight decays (OOD)
    SHAKE = "shake"  # Boracchi-Foi camera shake; l is the trajectory's extent

    @property
    def max_length(self) -> float:
        """The longest applied l the kind can draw, a fraction of the side."""
        if self == BlurKind.TRAIL:  # a streak from the kernel's centre
            return (KERNEL_SIZE // 2) / IMAGE_SIZE
        if self == BlurKind.SHAKE:  # a path across the kernel, splat margin kept
            return (KERNEL_SIZE - 2) / IMAGE_SIZE
        return MAX_BLUR_LENGTH

    @property
    def has_angle(self) -> bool:
        """Whether θ is a parameter (camera shake draws its own path)."""
        return self != BlurKind.SHAKE


def check_blur_length(length: float, name: str = "length") -> float:
    """Checks one applied blur length l (a fraction of the image side).

    Raises:
        ValueError: Unless 0 ≤ l ≤ `MAX_BLUR_LENGTH` and finite.
    """
    length = float(length)
    if not (math.isfinite(length) and 0.0 <= length <= MAX_BLUR_LENGTH):
        raise ValueError(
            f"{name} must be finite and in [0, {MAX_BLUR_LENGTH:g}] (a fraction of "
            f"the image side). Received: {name}={length:g}"
        )
    return length


def check_blur_angle(angle: float, name: str = "angle") -> float:
    """Checks one blur angle θ in degrees.

    Raises:
        ValueError: Unless θ is finite and |θ| ≤ `MAX_ABS_ANGLE`.
    """
    angle = float(angle)
    if not (math.isfinite(angle) and abs(angle) <= MAX_ABS_ANGLE):
        raise ValueError(
            f"{name} must be finite and in [-{MAX_ABS_ANGLE:g}, {MAX_ABS_ANGLE:g}] "
            f"degrees. Received: {name}={angle:g}"
        )
    return angle


def _as_floats(values: Sequence[float], name: str) -> tuple[float, ...]:
    try:
        values = tuple(float(value) for value in values)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be numbers. Received: {name}={list(values)}"
        ) from None
    if not values:
        raise ValueError(f"{name} must not be empty. Received: {name}=[]")
    return values


# The paper's convention: l is a fraction of the image side, as given.
PAPER_LENGTH_SCALE = 1.0


@dataclasses.dataclass(frozen=True)
class GridSpec:
    """The blur settings of a grid evaluation, validated when built.

    Attributes:
        lengths: Blur lengths l as given, fractions of the image side, ≥ 0.
        angles: Blur angles θ in degrees, |θ| ≤ 360.
        length_scale: Multiplier on every l (> 0); 1 is the paper's convention.
            Every applied length l · length_scale must be at most what the
            blur can draw (`BlurKind.max_length`).
        blur: Which implementation blurs the images. For `shake`, l · 28 is
            the trajectory's extent in pixels and the only angle is 0.
        batch_size: Test images per graph call (each is repeated once per
            setting inside the call).
        noise: Standard deviation of Gaussian read noise on the [0, 1] scale,
            added after the blur (the clean row included) and followed by
            8-bit quantisation; 0 applies no sensor model at all.
        seed: Base seed of each image's camera-shake trajectory and noise
            (fixed per image, whatever the batch).
    """

    lengths: tuple[float, ...] = PAPER_LENGTHS
    angles: tuple[float, ...] = PAPER_ANGLES
    length_scale: float = PAPER_LENGTH_SCALE
    blur: BlurKind = BlurKind.FOURIER
    batch_size: int = DEFAULT_GRID_BATCH_SIZE
    noise: float = 0.0
    seed: int = 0

    def __post_init__(self):
        lengths = _as_floats(self.lengths, "lengths")
        angles = _as_floats(self.angles, "angles")
        scale = float(self.length_scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(
                "length_scale must be finite and positive. "
                f"Received: length_scale={self.length_scale}"
            )
        for length in lengths:
            if not (math.isfinite(length) and length >= 0):
                raise ValueError(
                    f"lengths must be finite and at least 0. Received: lengths={list(lengths)}"
                )
        try:
            blur = BlurKind(self.blur)
        except ValueError:
            raise ValueError(
                f"blur must be one of {', '.join(BlurKind)}. Received: blur={self.blur!r}"
            ) from None
        for length in lengths:
            if length * scale > blur.max_length + 1e-9:
                raise ValueError(
                    f"lengths times length_scale must be at most {blur.max_length:.3g} "
                    f"for {blur} blur (a streak as long as the image side, or what "
                    "its kernel holds). "
                    f"Received: lengths={list(lengths)}, length_scale={scale:g}"
                )
        for angle in angles:
            if not (math.isfinite(angle) and abs(angle) <= MAX_ABS_ANGLE):
                raise ValueError(
                    f"angles must be finite and in [-{MAX_ABS_ANGLE:g}, "
                    f"{MAX_ABS_ANGLE:g}] degrees. Received: angles={list(angles)}"
                )
        if not blur.has_angle and angles != (0.0,):
            raise ValueError(
                f"{blur} blur has no angle axis; its only angle is 0. "
                f"Received: angles={list(angles)}"
            )
        noise = float(self.noise)
        if not (math.isfinite(noise) and 0.0 <= noise <= MAX_NOISE):
            raise ValueError(
                f"noise must be finite and in [0, {MAX_NOISE:g}]. Received: noise={self.noise}"
            )
        if isinstance(self.batch_size, bool) or not (
            isinstance(self.batch_size, int) and self.batch_size >= 1
        ):
            raise ValueError(
                f"batch_size must be a positive integer. Received: batch_size={self.batch_size!r}"
            )
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "angles", angles)
        object.__setattr__(self, "length_scale", scale)
        object.__setattr__(self, "blur", blur)
        object.__setattr__(self, "noise", noise)

    @property
    def applied_lengths(self) -> tuple[float, ...]:
        """l · length_scale for every l: the lengths the blur applies."""
        return tuple(length * self.length_scale for length in self.lengths)

    @property
    def points(self) -> list[tuple[float, float]]:
        """Every (l, θ) as given, row-major: l outer, θ inner."""
        return [(length, angle) for length in self.lengths for angle in self.angles]

    @property
    def settings(self) -> list[tuple[float, float]]:
        """The applied (l · length_scale, θ) of every evaluated setting: the
        clean images (0, 0) first, then `points` in order."""
        return [(0.0, 0.0)] + [
            (length * self.length_scale, angle) for length, angle in self.points
        ]

    @property
    def strongest(self) -> tuple[float, float]:
        """The applied (l, θ) of the longest length at the last angle, where
        costs are timed and example figures drawn."""
        return (max(self.lengths) * self.length_scale, self.angles[-1])


# The paper's grid at its own length scale: the default of `evaluate_grid`.
PAPER_GRID = GridSpec()


def find_point(points, length: float, angle: float):
    """The record of `points` at (length, angle); KeyError when there is none."""
    for point in points:
        if point.length == length and point.angle == angle:
            return point
    raise KeyError(f"No grid point at length={length}, angle={angle}")


def family_grid(blur: BlurKind | str, length_scale: float) -> GridSpec:
    """The settings a blur family is measured on in the shipped methods grids:
    the paper grid rescaled by the data set's `length_scale`
    (`DatasetSpec.length_scale`), or, for shake, its five trajectory
    extents."""
    blur = BlurKind(blur)
    if blur == BlurKind.SHAKE:
        return GridSpec(lengths=SHAKE_LENGTHS, angles=(0.0,), blur=blur)
    return GridSpec(length_scale=length_scale, blur=blur)
