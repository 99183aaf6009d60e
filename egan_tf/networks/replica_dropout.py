"""Dropout that draws a different mask on every replica of a strategy."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="egan_tf")
class ReplicaDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` with the replica's index folded into its seed.

    Keras' dropout draws its mask from a seed-generator variable. Under a
    `tf.distribute` strategy that variable is mirrored, so every replica
    starts from the same seed and drops the same units of its share of the
    batch: with two replicas, the masks of examples i and n + i of a global
    batch of 2n were identical. Folding the replica's index into the seed
    gives each replica its own masks. With one replica the layer draws
    exactly what `keras.layers.Dropout` draws, so single-device runs, and
    the networks trained before this layer existed, are unchanged.

    Args and call arguments: those of `keras.layers.Dropout`.
    Input and output: any float tensor, same shape and dtype.
    """

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return tf.zeros_like(inputs)
        seed = self.seed_generator.next()
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(
                seed, tf.cast(context.replica_id_in_sync_group, seed.dtype)
            )
        # As Keras does: the generator's state is int64, TensorFlow's
        # stateless ops want int32 seeds (for XLA).
        seed = tf.cast(tf.math.floormod(seed, tf.int32.max - 1), tf.int32)
        return tf.nn.experimental.stateless_dropout(
            inputs,
            rate=self.rate,
            noise_shape=self._concrete_noise_shape(inputs),
            seed=seed,
        )

    def _concrete_noise_shape(self, inputs):
        """`noise_shape` with its None entries taken from `inputs`."""
        if self.noise_shape is None:
            return None
        shape = tf.shape(inputs)
        return tf.stack(
            [
                shape[axis] if size is None else tf.constant(size, shape.dtype)
                for axis, size in enumerate(self.noise_shape)
            ]
        )
