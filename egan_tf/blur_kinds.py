"""Blur a batch by one setting with the implementation a `BlurKind` names."""

from __future__ import annotations

import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.grid_spec import BlurKind
from egan_tf.spatial_blur import spatial_motion_blur


def blur_images(
    images: tf.Tensor, length: float, angle: float, kind: BlurKind
) -> tf.Tensor:
    """Blurs every image of a batch by one setting.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].
        length: Applied l, a fraction of the image side; 0 returns `images`.
        angle: θ in degrees.
        kind: The Fourier model the networks were trained with, or the
            independent spatial line kernel.

    Returns:
        float32 [batch, 28, 28, 1] in [0, 1].
    """
    if length == 0:
        return images
    if BlurKind(kind) == BlurKind.SPATIAL:
        return spatial_motion_blur(images, length, angle)
    return apply_motion_blur(images, length, angle)
