"""One batched runner for every evaluation loop.

A compiled function is mapped over an array in batches read by a `tf.data`
pipeline with prefetch, so that slicing the next batch overlaps the graph
call, and its outputs are concatenated back into NumPy arrays. The training
loops' input pipeline shares `without_autotuning`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

# One batch sliced ahead while the graph runs on the current one: slicing is
# far cheaper than any function mapped here.
PREFETCH_BATCHES = 1


def without_autotuning(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with tf.data's autotuning off.

    The pipelines here slice arrays in memory and leave autotuning nothing to
    tune, and with it on, deleting an iterator stalled for 1 to 5 s in about
    a third of the pipelines (none in 12 with it off, bench/gan_step.py):
    once per epoch in training, once per call of `run_batched` in evaluation.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def run_batched(
    function: Callable,
    inputs: np.ndarray,
    batch_size: int,
    axis: int = 0,
    description: str | None = None,
    units_per_example: int = 1,
):
    """Maps `function` over `inputs` batch by batch and concatenates the results.

    Args:
        function: Function of one batch of `inputs` (a tensor with the batch
            along axis 0; for a tuple of arrays, one argument each) returning
            a tensor or a nested structure of tensors, each with the batch
            along `axis`.
        inputs: Array [N, ...] of any dtype, or a tuple of such arrays.
        batch_size: Examples per call; the last batch may be smaller.
        axis: The batch axis of `function`'s outputs.
        description: Title of a progress bar, or None for no bar.
        units_per_example: What one example counts for on the progress bar
            (e.g. the blur settings each image is evaluated under).

    Returns:
        The structure `function` returns, NumPy arrays concatenated over all
        batches. An empty `inputs` gives None.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1. Received: batch_size={batch_size}")
    batches = without_autotuning(
        tf.data.Dataset.from_tensor_slices(inputs)
        .batch(batch_size)
        .prefetch(PREFETCH_BATCHES)
    )
    parts = []
    count = len(inputs[0]) if isinstance(inputs, tuple) else len(inputs)
    with tqdm(
        total=count * units_per_example,
        desc=description,
        unit="img",
        unit_scale=True,
        disable=description is None,
        dynamic_ncols=True,
    ) as bar:
        for batch in batches:
            arguments = batch if isinstance(batch, tuple) else (batch,)
            parts.append(tf.nest.map_structure(np.asarray, function(*arguments)))
            bar.update(int(arguments[0].shape[0]) * units_per_example)
    if not parts:
        return None
    return tf.nest.map_structure(
        lambda *pieces: np.concatenate(pieces, axis=axis), *parts
    )
