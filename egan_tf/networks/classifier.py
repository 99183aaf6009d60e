"""The classifier C."""

import keras

from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES, ClassifierConfig
from egan_tf.networks.normalization import batch_normalization
from egan_tf.networks.replica_dropout import ReplicaDropout

CLASSIFIER_NAME = "classifier"


def build_classifier(config: ClassifierConfig) -> keras.Model:
    """Builds the convolutional classifier C (ten classes).

    Input `images`: float32 [batch, 28, 28, 1] in [0, 1].
    Output `logits`: float32 [batch, 10], unnormalised class scores.
    """
    images = keras.Input(shape=IMAGE_SHAPE, name="images")
    features = images
    for block, filters in enumerate(config.filters):
        for layer in range(2):
            features = keras.layers.Conv2D(
                filters,
                3,
                padding="same",
                use_bias=False,
                name=f"block{block}_conv{layer}",
            )(features)
            features = batch_normalization(f"block{block}_norm{layer}")(features)
            features = keras.layers.ReLU(name=f"block{block}_relu{layer}")(features)
        features = keras.layers.MaxPooling2D(name=f"block{block}_pool")(features)
    features = keras.layers.Flatten(name="flatten")(features)
    features = ReplicaDropout(config.dropout_rate, name="dropout0")(features)
    features = keras.layers.Dense(config.dense_units, activation="relu", name="hidden")(
        features
    )
    features = ReplicaDropout(config.dropout_rate, name="dropout1")(features)
    # The head stays float32 under mixed precision so the softmax is stable.
    logits = keras.layers.Dense(NUM_CLASSES, dtype="float32", name="logits")(features)
    return keras.Model(images, logits, name=CLASSIFIER_NAME)
