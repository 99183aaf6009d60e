"""How a user's images become the networks' 28x28 light-on-dark input:
fitted to 28x28 or refused, and inverted when dark on light. Nothing here
imports TensorFlow."""

from __future__ import annotations

import dataclasses

import numpy as np

from egan_tf.config import IMAGE_SHAPE
from egan_tf.errors import ImagesError


@dataclasses.dataclass(frozen=True)
class ImageReading:
    """How a user's images become the networks' 28x28 light-on-dark input.

    Attributes:
        resize: Fit images of any other size to 28x28: pad them with the
            background (black, after `invert`) to a square around their
            centre, keeping their proportions, then average them down (or
            interpolate them up) to 28x28. Without it any other size is
            refused, so that nothing is rescaled unasked: a blur is
            measured as a fraction of the image side, and a resized image's
            blur is shorter in pixels.
        invert: The images are dark on light (ink on paper): take 1 - grey,
            so that they are light on dark as MNIST's are.
    """

    resize: bool = False
    invert: bool = False

    def fit(self, grey: np.ndarray, name: str) -> np.ndarray:
        """One image as the networks take it.

        Args:
            grey: float32 [H, W] in [0, 1], H, W >= 1.
            name: The image's file (or index), for the error.

        Returns:
            float32 [28, 28] in [0, 1].

        Raises:
            ImagesError: The image is not 28x28 and `resize` is off.
        """
        height, width, _ = IMAGE_SHAPE
        if self.invert:
            grey = 1.0 - grey
        if grey.shape == (height, width):
            return grey
        if not self.resize:
            raise ImagesError(
                f"Images must be {height}x{width} pixels (--resize fits other "
                f"sizes). Received: {name} of {grey.shape[0]}x{grey.shape[1]}"
            )
        return _resized(_padded_to_square(grey), (height, width))


def _padded_to_square(grey: np.ndarray) -> np.ndarray:
    """`grey` [H, W] centred in a black square of side max(H, W)."""
    side = max(grey.shape)
    rows, columns = side - grey.shape[0], side - grey.shape[1]
    return np.pad(
        grey, ((rows // 2, rows - rows // 2), (columns // 2, columns - columns // 2))
    )


def _resized(grey: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`grey` [S, S] in [0, 1] resampled to `size`: each output pixel the
    area average of what it covers when shrinking (no aliasing of thin
    strokes), bilinear when enlarging."""
    from PIL import Image

    resample = (
        Image.Resampling.BOX if grey.shape[0] >= size[0] else Image.Resampling.BILINEAR
    )
    image = Image.fromarray(grey.astype(np.float32), mode="F")
    resized = np.asarray(image.resize(size[::-1], resample), np.float32)
    return np.clip(resized, 0.0, 1.0)
