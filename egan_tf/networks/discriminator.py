"""The GAN discriminator D."""

import keras

from egan_tf.config import IMAGE_SHAPE, EganConfig
from egan_tf.networks.replica_dropout import ReplicaDropout

DISCRIMINATOR_NAME = "discriminator"
_LEAKY_SLOPE = 0.2
_DROPOUT_RATE = 0.3


def build_discriminator(config: EganConfig) -> keras.Model:
    """Builds the DCGAN discriminator D.

    Input `images`: float32 [batch, 28, 28, 1] in [0, 1] (rescaled to [-1, 1]
    inside, to match the generator's working range).
    Output `logit`: float32 [batch, 1], positive for "real".
    """
    images = keras.Input(shape=IMAGE_SHAPE, name="images")
    features = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    for index, filters in enumerate(config.discriminator_filters):
        features = keras.layers.Conv2D(
            filters, 4, strides=2, padding="same", name=f"downsample{index}"
        )(features)
        features = keras.layers.LeakyReLU(
            negative_slope=_LEAKY_SLOPE, name=f"downsample{index}_relu"
        )(features)
        # Dropout rather than batch norm: real and fake batches pass separately,
        # and batch statistics would let D tell them apart by the batch alone.
        features = ReplicaDropout(_DROPOUT_RATE, name=f"downsample{index}_drop")(
            features
        )
    features = keras.layers.Flatten(name="flatten")(features)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(features)
    return keras.Model(images, logit, name=DISCRIMINATOR_NAME)
