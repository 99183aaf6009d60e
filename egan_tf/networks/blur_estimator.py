"""The blur estimator B, which reads the motion blur's length and direction off
an image."""

import keras

from egan_tf.config import IMAGE_SHAPE, BlurEstimatorConfig

BLUR_ESTIMATOR_NAME = "blur_estimator"


def build_blur_estimator(config: BlurEstimatorConfig) -> keras.Model:
    """Builds the blur estimator B.

    The direction is predicted as a vector (cos θ, sin θ) over the full circle:
    θ and θ + 180° smear a digit the same way, but the Fourier model moves the
    streak from the digit's centre of mass towards θ, and MNIST digits are
    centred by their mass, so the two can be told apart. The dense layer keeps
    the positional information that needs.

    Input `images`: float32 [batch, 28, 28, 1] in [0, 1].
    Output `blur`: float32 [batch, 3]: the length l (a fraction of the image
    side, ≥ 0) and the unnormalised direction vector (cos θ, sin θ).
    """
    images = keras.Input(shape=IMAGE_SHAPE, name="images")
    features = images
    for index, filters in enumerate(config.filters):
        features = keras.layers.Conv2D(
            filters,
            3,
            strides=1 if index == 0 else 2,
            padding="same",
            activation="relu",
            name=f"conv{index}",
        )(features)
    features = keras.layers.Flatten(name="flatten")(features)
    features = keras.layers.Dense(config.dense_units, activation="relu", name="hidden")(
        features
    )
    length = keras.layers.Dense(1, activation="softplus", name="length")(features)
    direction = keras.layers.Dense(2, name="direction")(features)
    blur = keras.layers.Concatenate(name="blur", dtype="float32")([length, direction])
    return keras.Model(images, blur, name=BLUR_ESTIMATOR_NAME)
