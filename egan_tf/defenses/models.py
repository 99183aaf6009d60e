"""The networks the defences run on, loaded from a models folder."""

from __future__ import annotations

import dataclasses
import os

import keras

from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES
from egan_tf.defenses.names import NETWORK_FILES, Method, needed_networks
from egan_tf.errors import ModelFileError
from egan_tf.model_io import load_model, load_shipped_models

# What B predicts per image: (l, cos θ, sin θ).
BLUR_ESTIMATE_SIZE = 3


@dataclasses.dataclass(frozen=True)
class DefenseModels:
    """Every network a method may use; the optional ones may be None.

    Attributes:
        classifier: C, images [batch, 28, 28, 1] in [0, 1] -> logits [batch, 10].
        generator: G, latent -> images in [0, 1].
        encoder: E, the paper's encoder, trained on sharp images.
        encoder_blur: E_blur, E fine-tuned on blurred inputs.
        classifier_augment: C_aug, C's architecture trained with blur
            augmentation.
        blur_estimator: B, images -> (l, cos θ, sin θ) [batch, 3].
        classifier_mixture: C_mix, C's architecture trained on the blur
            mixture of issue 12 (Fourier or camera shake, with noise).
    """

    classifier: keras.Model
    generator: keras.Model
    encoder: keras.Model
    encoder_blur: keras.Model | None = None
    classifier_augment: keras.Model | None = None
    blur_estimator: keras.Model | None = None
    classifier_mixture: keras.Model | None = None

    def missing_for(
        self, method: Method, gated_restorer: Method | None = None
    ) -> list[str]:
        """The names of the networks `method` needs that are not loaded (for
        `gated`, with its restorer's when `gated_restorer` is given)."""
        return [
            name
            for name in needed_networks(method, gated_restorer)
            if getattr(self, name) is None
        ]


def not_loaded_reason(
    models: DefenseModels, method: Method, gated_restorer: Method | None = None
) -> str | None:
    """Why `method` cannot run on `models` ("needs X, not loaded"), or None
    when every network it needs is loaded."""
    missing = models.missing_for(Method(method), gated_restorer)
    return "needs " + ", ".join(missing) + ", not loaded" if missing else None


def check_methods_available(
    models: DefenseModels, methods, gated_restorer: Method | None = None
) -> None:
    """Raises ModelFileError naming the files a requested method lacks (for
    `gated`, counting its restorer `gated_restorer` when given)."""
    for method in methods:
        missing = models.missing_for(Method(method), gated_restorer)
        if missing:
            raise ModelFileError(
                f"Method {method} needs "
                f"{', '.join(NETWORK_FILES[name] for name in missing)} "
                "in the models folder."
            )


def load_defense_models(models_dir: str) -> DefenseModels:
    """Loads C, G and E (required) and whichever optional networks exist.

    Raises:
        ModelFileError: When C, G or E is missing or a file does not fit.
    """
    shipped = load_shipped_models(models_dir, require_egan=True)
    latent_dim = shipped.generator.input_shape[-1]
    output_shapes = {
        "encoder_blur": (latent_dim,),
        "classifier_augment": (NUM_CLASSES,),
        "blur_estimator": (BLUR_ESTIMATE_SIZE,),
        "classifier_mixture": (NUM_CLASSES,),
    }
    optional = {}
    for name, file_name in NETWORK_FILES.items():
        path = os.path.join(models_dir, file_name)
        optional[name] = (
            load_model(
                path,
                expected_input_shape=IMAGE_SHAPE,
                expected_output_shape=output_shapes[name],
            )
            if os.path.isfile(path)
            else None
        )
    return DefenseModels(
        classifier=shipped.classifier,
        generator=shipped.generator,
        encoder=shipped.encoder,
        **optional,
    )
