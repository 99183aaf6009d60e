"""Keras functional builders, one network a module, each with a stable name."""

from egan_tf.networks.blur_estimator import build_blur_estimator
from egan_tf.networks.classifier import build_classifier
from egan_tf.networks.discriminator import build_discriminator
from egan_tf.networks.encoder import build_encoder
from egan_tf.networks.generator import build_generator

__all__ = [
    "build_blur_estimator",
    "build_classifier",
    "build_discriminator",
    "build_encoder",
    "build_generator",
]
