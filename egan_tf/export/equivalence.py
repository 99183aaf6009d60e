"""Whether an exported defence answers as the in-memory method does, on
blurred test images of every blur family.

The export records this beside its accuracy: a graph that loads and runs can
still differ from the evaluated method (a branch traced differently, a
variable saved twice), and only a comparison on real blurred digits shows
that it does not.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from egan_tf.batching import run_batched
from egan_tf.blur_kinds import blur_setting
from egan_tf.grid_spec import BlurKind, family_grid

# Base seed of the requests' shake trajectories; not the grids' seed 0, so that
# the comparison does not reuse the evaluated grids' exact blurred images.
REQUEST_SEED = 12


def family_requests(
    images: np.ndarray, blur: BlurKind | str, length_scale: float
) -> np.ndarray:
    """Blurs each image by one setting of `blur`'s shipped grid, in turn.

    Image i gets setting i mod S of the grid's S blurred settings, so that a
    few thousand images cover every strength and angle.

    Args:
        images: float32 [N, 28, 28, 1] in [0, 1], sharp.
        blur: The blur family.
        length_scale: The data set's rescaled-grid length scale.

    Returns:
        float32 [N, 28, 28, 1] in [0, 1].
    """
    spec = family_grid(blur, length_scale)
    points = spec.settings[1:]
    blurred = np.empty_like(images)
    for setting, (length, angle) in enumerate(points):
        rows = np.arange(setting, len(images), len(points))
        if rows.size:
            blurred[rows] = blur_setting(
                tf.constant(images[rows]),
                tf.constant(rows, tf.int64),
                length,
                angle,
                spec.blur,
                seed=REQUEST_SEED,
            ).images.numpy()
    return blurred


def compare_outputs(
    exported: Callable[..., dict[str, tf.Tensor]],
    in_memory: Callable[[tf.Tensor], dict[str, tf.Tensor]],
    images: np.ndarray,
    batch_size: int = 250,
) -> dict[str, float | int]:
    """Runs a defence signature loaded from disk and its in-memory function
    on the same images.

    Args:
        exported: A loaded signature, called with `images=`.
        in_memory: The serving function it was exported from.
        images: float32 [N, 28, 28, 1] in [0, 1].

    Returns:
        {"examples", "labels_equal" (count), "max_logit_difference",
        "max_probability_difference"}.
    """
    compiled = tf.function(in_memory, autograph=False)

    def both(batch):
        from_disk = exported(images=batch)
        expected = compiled(batch)
        return {
            "labels_equal": tf.equal(from_disk["label"], expected["label"]),
            "logits": tf.reduce_max(
                tf.abs(from_disk["logits"] - expected["logits"]), axis=-1
            ),
            "probabilities": tf.reduce_max(
                tf.abs(from_disk["probabilities"] - expected["probabilities"]), axis=-1
            ),
        }

    outputs = run_batched(both, images, batch_size)
    return {
        "examples": len(images),
        "labels_equal": int(np.sum(outputs["labels_equal"])),
        "max_logit_difference": float(np.max(outputs["logits"])),
        "max_probability_difference": float(np.max(outputs["probabilities"])),
    }


def measure_equivalence(
    exported: Callable[..., dict[str, tf.Tensor]],
    in_memory: Callable[[tf.Tensor], dict[str, tf.Tensor]],
    images: np.ndarray,
    length_scale: float,
) -> dict[str, dict[str, float | int]]:
    """`compare_outputs` on `images` blurred by every family in turn.

    Args:
        images: float32 [N, 28, 28, 1] in [0, 1], sharp test images.
        length_scale: The data set's rescaled-grid length scale
            (`DatasetSpec.length_scale`).

    Returns:
        Family name -> what `compare_outputs` returns.
    """
    return {
        str(blur): compare_outputs(
            exported, in_memory, family_requests(images, blur, length_scale)
        )
        for blur in BlurKind
    }
