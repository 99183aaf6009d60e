"""TensorBoard helpers: image grids and the run's configuration."""

from __future__ import annotations

import json
import math

import tensorflow as tf


def image_grid(images: tf.Tensor, columns: int | None = None) -> tf.Tensor:
    """Tiles a batch of images into one image.

    Args:
        images: float tensor [batch, height, width, channels] in [0, 1].
        columns: Images a row; defaults to a near-square grid.

    Returns:
        float32 tensor [1, rows * height, columns * width, channels], the shape
        `tf.summary.image` expects.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    count = int(images.shape[0])
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    padding = rows * columns - count
    if padding:
        images = tf.concat([images, tf.zeros([padding, *images.shape[1:]])], axis=0)
    height, width, channels = images.shape[1:]
    grid = tf.reshape(images, [rows, columns, height, width, channels])
    grid = tf.transpose(grid, [0, 2, 1, 3, 4])
    return tf.reshape(grid, [1, rows * height, columns * width, channels])


def side_by_side(left: tf.Tensor, right: tf.Tensor) -> tf.Tensor:
    """Interleaves two batches so a grid shows left[i] beside right[i].

    Args:
        left, right: float tensors [batch, height, width, channels].

    Returns:
        float tensor [2 * batch, height, width, channels].
    """
    stacked = tf.stack([left, right], axis=1)
    return tf.reshape(stacked, [-1, *left.shape[1:]])


def write_config_summary(writer, configs: dict) -> None:
    """Writes the run's resolved configuration as a TensorBoard text summary."""
    text = "```\n" + json.dumps(configs, indent=2) + "\n```"
    with writer.as_default():
        tf.summary.text("config", text, step=0)
    writer.flush()
