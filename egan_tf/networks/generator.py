"""The GAN generator G."""

import keras

from egan_tf.config import IMAGE_CHANNELS, IMAGE_SIZE, EganConfig
from egan_tf.networks.normalization import batch_normalization

GENERATOR_NAME = "generator"
_SEED_SIZE = IMAGE_SIZE // 4


def build_generator(config: EganConfig) -> keras.Model:
    """Builds the DCGAN generator G.

    Input `latent`: float32 [batch, latent_dim], drawn from N(0, 1) in training.
    Output `images`: float32 [batch, 28, 28, 1] in [0, 1]. The network works in
    [-1, 1] (tanh) and rescales inside the model, so callers never convert.
    """
    first_filters, second_filters = config.generator_filters
    latent = keras.Input(shape=(config.latent_dim,), name="latent")
    features = keras.layers.Dense(
        _SEED_SIZE * _SEED_SIZE * first_filters, use_bias=False, name="project"
    )(latent)
    features = batch_normalization("project_norm")(features)
    features = keras.layers.ReLU(name="project_relu")(features)
    features = keras.layers.Reshape(
        (_SEED_SIZE, _SEED_SIZE, first_filters), name="reshape"
    )(features)
    # One upsampling block to 14x14, then a transposed convolution straight to
    # pixels: no full-resolution feature maps, which dominate the cost on a CPU.
    features = keras.layers.Conv2DTranspose(
        second_filters, 4, strides=2, padding="same", use_bias=False, name="upsample"
    )(features)
    features = batch_normalization("upsample_norm")(features)
    features = keras.layers.ReLU(name="upsample_relu")(features)
    signed = keras.layers.Conv2DTranspose(
        IMAGE_CHANNELS,
        4,
        strides=2,
        padding="same",
        activation="tanh",
        dtype="float32",
        name="to_pixels",
    )(features)
    images = keras.layers.Rescaling(0.5, offset=0.5, dtype="float32", name="images")(
        signed
    )
    return keras.Model(latent, images, name=GENERATOR_NAME)
