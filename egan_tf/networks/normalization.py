"""The batch normalisation every network with batch statistics uses."""

import keras


def batch_normalization(name: str) -> keras.layers.BatchNormalization:
    """A batch normalisation synchronised over replicas.

    Under a `tf.distribute` strategy each replica sees its share of the batch.
    Synchronised, the statistics are the global batch's, so a run gives the
    same network on one device or many (the paper's G normalises over its
    batch of 128, and still does on two devices of 64), at the cost of one
    all-reduce of two floats per channel and layer a step. On one device it
    is the plain batch normalisation. C, G and E use it; D (dropout instead:
    real and fake batches pass separately) and B have none.
    """
    return keras.layers.BatchNormalization(synchronized=True, name=name)
