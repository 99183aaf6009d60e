"""The batched runner every evaluation loop maps its graphs with."""

import numpy as np
import pytest
import tensorflow as tf

from egan_tf.batching import run_batched, without_autotuning


def test_batches_cover_every_example_once_in_order_with_a_partial_last_batch():
    inputs = np.arange(10, dtype=np.float32)
    sizes = []

    def double(batch):
        sizes.append(int(batch.shape[0]))
        return {"twice": 2 * batch, "sum": tf.reduce_sum(batch, keepdims=True)}

    outputs = run_batched(double, inputs, batch_size=4)
    np.testing.assert_array_equal(outputs["twice"], 2 * inputs)
    np.testing.assert_array_equal(outputs["sum"], [6, 22, 17])
    assert sizes == [4, 4, 2]


def test_a_tuple_of_arrays_gives_one_argument_each_and_outputs_join_on_axis():
    images = np.ones((5, 2), np.float32)
    labels = np.arange(5, dtype=np.int64)
    outputs = run_batched(
        lambda x, y: tf.transpose(x * tf.cast(y, tf.float32)[:, None]),
        (images, labels),
        batch_size=2,
        axis=1,
    )
    assert outputs.shape == (2, 5)
    np.testing.assert_array_equal(outputs[0], labels)


def test_empty_inputs_give_none_and_a_bad_batch_size_is_refused():
    assert run_batched(lambda x: x, np.zeros((0, 3), np.float32), 4) is None
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        run_batched(lambda x: x, np.zeros((2, 3), np.float32), 0)


def test_pipelines_run_without_autotuning():
    # With it on, deleting an iterator stalled for seconds at random.
    dataset = tf.data.Dataset.range(3).prefetch(tf.data.AUTOTUNE)
    assert dataset.options().autotune.enabled is not False
    assert without_autotuning(dataset).options().autotune.enabled is False
