"""The encoder E that maps an image to G's latent space."""

import keras

from egan_tf.config import IMAGE_SHAPE, EganConfig
from egan_tf.networks.normalization import batch_normalization

ENCODER_NAME = "encoder"
_LEAKY_SLOPE = 0.2


def build_encoder(config: EganConfig) -> keras.Model:
    """Builds the convolutional encoder E.

    Input `images`: float32 [batch, 28, 28, 1] in [0, 1].
    Output `latent`: float32 [batch, latent_dim], so that G(E(x)) reproduces x.
    """
    images = keras.Input(shape=IMAGE_SHAPE, name="images")
    features = keras.layers.Rescaling(2.0, offset=-1.0, name="to_signed")(images)
    for index, filters in enumerate(config.encoder_filters):
        features = keras.layers.Conv2D(
            filters,
            4,
            strides=2,
            padding="same",
            use_bias=False,
            name=f"downsample{index}",
        )(features)
        features = batch_normalization(f"downsample{index}_norm")(features)
        features = keras.layers.LeakyReLU(
            negative_slope=_LEAKY_SLOPE, name=f"downsample{index}_relu"
        )(features)
    features = keras.layers.Flatten(name="flatten")(features)
    latent = keras.layers.Dense(config.latent_dim, dtype="float32", name="latent")(
        features
    )
    return keras.Model(images, latent, name=ENCODER_NAME)
