"""The defences compared in `evaluate --grid --methods`: the paper's EGAN and
what goes beyond it.

Every method is a function of a batch of (possibly blurred) images and the
true blur setting, returning C's logits; only `wiener-oracle` looks at the
true setting, as an upper bound. `make_method_functions` builds them from the
networks in `DefenseModels`; `evaluate_methods_grid` in `egan_tf.methods_grid`
runs them over the blur grid.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.config import IMAGE_SHAPE, NUM_CLASSES, config_from_dict
from egan_tf.deconvolution import wiener_deconvolve
from egan_tf.model_io import (
    AUGMENTED_CLASSIFIER_FILE,
    BLUR_ESTIMATOR_FILE,
    ENCODER_BLUR_FILE,
    ModelFileError,
    load_model,
    load_shipped_models,
)


class Method(enum.StrEnum):
    """A defence in front of the classifier."""

    NONE = "none"  # C(x)
    EGAN = "egan"  # the paper: C(G(E(x)))
    EGAN_BLUR = "egan-blur"  # C(G(E_blur(x))), E fine-tuned on blurred inputs
    EGAN_REFINE = "egan-refine"  # E_blur's latent refined through G and the blur
    GATED = "gated"  # C(x) when B finds x sharp, else the EGAN-blur path
    WIENER = "wiener"  # Wiener deconvolution with B's (l, θ), then C
    WIENER_ORACLE = "wiener-oracle"  # Wiener with the true (l, θ): an upper bound
    AUGMENT = "augment"  # C_aug(x), C's architecture trained with blur augmentation


EGAN_BASED_METHODS = (Method.EGAN, Method.EGAN_BLUR, Method.EGAN_REFINE, Method.GATED)

# The networks each method needs beyond C, G and E.
_NEEDS = {
    Method.EGAN_BLUR: ("encoder_blur",),
    Method.EGAN_REFINE: ("encoder_blur", "blur_estimator"),
    Method.GATED: ("encoder_blur", "blur_estimator"),
    Method.WIENER: ("blur_estimator",),
    Method.AUGMENT: ("classifier_augment",),
}


NETWORK_FILES = {
    "encoder_blur": ENCODER_BLUR_FILE,
    "classifier_augment": AUGMENTED_CLASSIFIER_FILE,
    "blur_estimator": BLUR_ESTIMATOR_FILE,
}


def needed_files(method: Method) -> list[str]:
    """The files of the optional networks `method` runs on."""
    return [NETWORK_FILES[name] for name in _NEEDS.get(Method(method), ())]


# The restorations `gated` can send the images B finds blurred to.
GATED_RESTORERS = (Method.EGAN_BLUR, Method.EGAN_REFINE)


@dataclasses.dataclass(frozen=True)
class DefenseConfig:
    """Settings of the methods that have any.

    Attributes:
        refine_steps: Adam steps on the latent in `egan-refine`.
        refine_learning_rate: Their step size.
        wiener_noise_to_signal: K of the Wiener filter.
        gate_length: `gated` sends an image straight to C when B estimates
            its blur length below this (a fraction of the image side).
        gated_restorer: What `gated` does with the other images: the
            `egan-blur` or the `egan-refine` path.
        gate_confidence: When set, `gated` also keeps C's answer for an image
            B finds blurred if C is at least this sure of it (its top softmax
            probability), since a confident C is rarely wrong on mild blur.
        gate_compare: When true, `gated` keeps C's answer for an image B finds
            blurred unless the restored image's answer is more confident
            (higher top softmax probability) than C's on the image itself.

    The shipped values are chosen on training images the kept blur encoder
    never trained on, never on the test set: `experiments/choose_defense.py`
    writes them to `saved_models/defense.json`.
    """

    refine_steps: int = 5
    refine_learning_rate: float = 0.05
    wiener_noise_to_signal: float = 0.01
    gate_length: float = 0.1
    gated_restorer: Method = Method.EGAN_BLUR
    gate_confidence: float | None = None
    gate_compare: bool = False

    def __post_init__(self):
        if self.refine_steps < 0:
            raise ValueError(
                f"refine_steps must be ≥ 0. Received: refine_steps={self.refine_steps}"
            )
        if self.gated_restorer not in GATED_RESTORERS:
            raise ValueError(
                "gated_restorer must be egan-blur or egan-refine. "
                f"Received: gated_restorer={self.gated_restorer}"
            )
        # Read from JSON as a string; kept as the enum member.
        object.__setattr__(self, "gated_restorer", Method(self.gated_restorer))
        if not self.wiener_noise_to_signal > 0:
            raise ValueError(
                "wiener_noise_to_signal must be positive. "
                f"Received: wiener_noise_to_signal={self.wiener_noise_to_signal}"
            )


@dataclasses.dataclass(frozen=True)
class DefenseModels:
    """Every network a method may use; the optional ones may be None.

    Attributes:
        classifier: C, images -> logits [batch, 10].
        generator: G, latent -> images in [0, 1].
        encoder: E, the paper's encoder, trained on sharp images.
        encoder_blur: E_blur, E fine-tuned on blurred inputs.
        classifier_augment: C_aug, C's architecture trained with blur
            augmentation.
        blur_estimator: B, images -> (l, cos θ, sin θ) [batch, 3].
    """

    classifier: keras.Model
    generator: keras.Model
    encoder: keras.Model
    encoder_blur: keras.Model | None = None
    classifier_augment: keras.Model | None = None
    blur_estimator: keras.Model | None = None

    def missing_for(self, method: Method) -> list[str]:
        """The names of the networks `method` needs that are not loaded."""
        return [name for name in _NEEDS.get(method, ()) if getattr(self, name) is None]


def load_defense_models(models_dir: str) -> DefenseModels:
    """Loads C, G and E (required) and whichever optional networks exist.

    Raises:
        ModelFileError: When C, G or E is missing or a file does not fit.
    """
    shipped = load_shipped_models(models_dir, require_egan=True)

    def optional(file_name, **shapes):
        path = os.path.join(models_dir, file_name)
        return load_model(path, **shapes) if os.path.isfile(path) else None

    latent_dim = shipped.generator.input_shape[-1]
    encoder_blur = optional(
        ENCODER_BLUR_FILE,
        expected_input_shape=IMAGE_SHAPE,
        expected_output_shape=(latent_dim,),
    )
    return DefenseModels(
        classifier=shipped.classifier,
        generator=shipped.generator,
        encoder=shipped.encoder,
        encoder_blur=encoder_blur,
        classifier_augment=optional(
            AUGMENTED_CLASSIFIER_FILE,
            expected_input_shape=IMAGE_SHAPE,
            expected_output_shape=(NUM_CLASSES,),
        ),
        blur_estimator=optional(
            BLUR_ESTIMATOR_FILE,
            expected_input_shape=IMAGE_SHAPE,
            expected_output_shape=(3,),
        ),
    )


DEFENSE_CONFIG_FILE = "defense.json"


def load_defense_file(models_dir: str) -> tuple[DefenseConfig, Method | None]:
    """The settings and the `adaptive_method` of `defense.json` in
    `models_dir`; the defaults and None when there is no such file.

    Raises:
        ModelFileError: When the file exists but does not describe a config.
    """
    path = os.path.join(models_dir, DEFENSE_CONFIG_FILE)
    if not os.path.isfile(path):
        return DefenseConfig(), None
    try:
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
        config = config_from_dict(DefenseConfig, payload["config"])
        method = payload.get("adaptive_method")
        return config, None if method is None else Method(method)
    except (ValueError, KeyError, TypeError) as error:
        raise ModelFileError(f"Cannot read {path}: {error}") from error


def load_defense_config(models_dir: str) -> DefenseConfig:
    """The `config` object of `defense.json` in `models_dir`, or the defaults.

    Raises:
        ModelFileError: When the file exists but does not describe a config.
    """
    return load_defense_file(models_dir)[0]


def parse_methods(text: str) -> tuple[Method, ...]:
    """Parses a comma-separated list of method names, or "all".

    Raises:
        ValueError: Naming an unknown method and listing the known ones.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return tuple(Method)
    known = [str(method) for method in Method]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise ValueError(
            f"Methods are {', '.join(known)} or all. Received: methods={text!r}"
        )
    return tuple(dict.fromkeys(Method(name) for name in names))


def check_methods_available(models: DefenseModels, methods) -> None:
    """Raises ModelFileError naming the files a requested method lacks."""
    for method in methods:
        missing = models.missing_for(Method(method))
        if missing:
            raise ModelFileError(
                f"Method {method} needs "
                f"{', '.join(NETWORK_FILES[name] for name in missing)} "
                "in the models folder."
            )


def estimate_blur(
    models: DefenseModels, images: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """B's estimate of each image's blur.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].

    Returns:
        length float32 [batch] (≥ 0) and angle float32 [batch] in degrees.
    """
    predicted = models.blur_estimator(images, training=False)
    length = tf.maximum(predicted[:, 0], 0.0)
    angle = tf.math.atan2(predicted[:, 2], predicted[:, 1]) * (
        180.0 / 3.141592653589793
    )
    return length, angle


def refine_latent(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
) -> tf.Tensor:
    """Searches z near `start` so that blur(G(z)) matches the observed image.

    Minimises ||blur_{l,θ}(G(z)) - x||² per image by Adam on z, from a learnt
    start rather than from random restarts (Defense-GAN). Each image's loss
    depends only on its own latent, so one batched gradient refines them all.

    Args:
        generator: G, frozen.
        start: float32 [batch, latent_dim], e.g. E_blur(x).
        images: float32 [batch, 28, 28, 1], the observed (blurred) images.
        length, angle: float32 [batch], the blur to model (l = 0: none).
        steps: Adam steps.
        learning_rate: Adam step size.

    Returns:
        float32 [batch, latent_dim], the refined latents.
    """
    return refine_latent_path(
        generator, start, images, length, angle, steps, learning_rate
    )[-1]


def refine_latent_path(
    generator: keras.Model,
    start: tf.Tensor,
    images: tf.Tensor,
    length: tf.Tensor,
    angle: tf.Tensor,
    steps: int,
    learning_rate: float,
) -> list[tf.Tensor]:
    """Every latent `refine_latent` passes through: `steps + 1` of them.

    Element k is the latent after k Adam steps (element 0 is `start`), so one
    run of n steps also gives the result of every shorter run with the same
    step size: Adam's state after k steps does not depend on what follows.
    Arguments as in `refine_latent`.
    """
    beta_1, beta_2, epsilon = 0.9, 0.999, 1e-8
    path = [start]
    latent = start
    first = tf.zeros_like(start)
    second = tf.zeros_like(start)
    for step in range(1, steps + 1):
        with tf.GradientTape() as tape:
            tape.watch(latent)
            rendered = apply_motion_blur(
                generator(latent, training=False), length, angle
            )
            loss = tf.reduce_sum(tf.square(rendered - images))
        gradient = tape.gradient(loss, latent)
        first = beta_1 * first + (1 - beta_1) * gradient
        second = beta_2 * second + (1 - beta_2) * tf.square(gradient)
        corrected_first = first / (1 - beta_1**step)
        corrected_second = second / (1 - beta_2**step)
        latent = latent - learning_rate * corrected_first / (
            tf.sqrt(corrected_second) + epsilon
        )
        path.append(latent)
    return path


@dataclasses.dataclass(frozen=True)
class MethodOutput:
    """What a method gives for a batch.

    Attributes:
        logits: float32 [batch, 10], the classifier's logits.
        classified: float32 [batch, 28, 28, 1] in [0, 1], the image the
            classifier saw: the input itself, or its restoration.
    """

    logits: tf.Tensor
    classified: tf.Tensor


MethodFunction = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], MethodOutput]


def make_method_functions(
    models: DefenseModels, config: DefenseConfig, methods
) -> dict[Method, MethodFunction]:
    """One function per method: (images, true_length, true_angle) -> MethodOutput.

    images float32 [batch, 28, 28, 1] in [0, 1]; true_length, true_angle
    float32 [batch] (read only by `wiener-oracle`). The functions are plain
    Python: trace them inside a `tf.function`.

    Raises:
        ModelFileError: When a method's networks are not loaded.
    """
    methods = [Method(method) for method in methods]
    check_methods_available(models, methods)
    classifier, generator = models.classifier, models.generator
    # Several methods start from the same pieces (C(x), B's estimate, the
    # refined latent). Within one trace they get the same input tensor, so
    # each piece is computed once per input and shared.
    shared: dict[tuple[str, object], object] = {}

    def once(name, images, compute):
        key = (name, images.ref())
        if key not in shared:
            shared[key] = compute()
        return shared[key]

    def top_probability(logits):
        return tf.reduce_max(tf.nn.softmax(logits, axis=-1), axis=-1)

    def classified_by_c(images):
        logits = once("C", images, lambda: classifier(images, training=False))
        return MethodOutput(logits, images)

    def estimate(images):
        return once("B", images, lambda: estimate_blur(models, images))

    def none(images, length, angle):
        return classified_by_c(images)

    def egan(images, length, angle):
        return classified_by_c(
            generator(models.encoder(images, training=False), training=False)
        )

    def cached(name, images):
        """What `once` already holds for (name, images), or None."""
        return shared.get((name, images.ref()))

    def restored_by(method, images, estimates):
        """C on the `egan-blur` or `egan-refine` restoration of `images`;
        `estimates` is B's (length, angle) for them (unused by `egan-blur`)."""
        latent = models.encoder_blur(images, training=False)
        if method == Method.EGAN_REFINE:
            estimated_length, estimated_angle = estimates
            latent = refine_latent(
                generator,
                latent,
                images,
                estimated_length,
                estimated_angle,
                config.refine_steps,
                config.refine_learning_rate,
            )
        return classified_by_c(generator(latent, training=False))

    def egan_blur(images, length, angle):
        return once(
            Method.EGAN_BLUR,
            images,
            lambda: restored_by(Method.EGAN_BLUR, images, None),
        )

    def egan_refine(images, length, angle):
        return once(
            Method.EGAN_REFINE,
            images,
            lambda: restored_by(Method.EGAN_REFINE, images, estimate(images)),
        )

    def gated(images, length, angle):
        plain = classified_by_c(images)
        restorer = config.gated_restorer
        estimated_length, estimated_angle = estimate(images)
        sharp = estimated_length < config.gate_length
        if config.gate_confidence is not None:
            sharp = sharp | (top_probability(plain.logits) >= config.gate_confidence)
        if config.gate_compare:
            # Comparing confidences needs every image restored.
            restore_all = egan_refine if restorer == Method.EGAN_REFINE else egan_blur
            restored = restore_all(images, length, angle)
            sharp = sharp | (
                top_probability(plain.logits) >= top_probability(restored.logits)
            )
            return MethodOutput(
                tf.where(sharp[:, tf.newaxis], plain.logits, restored.logits),
                tf.where(
                    sharp[:, tf.newaxis, tf.newaxis, tf.newaxis],
                    images,
                    restored.classified,
                ),
            )
        # Only the images B finds blurred are restored, so a sharp image costs
        # B and C alone. When the full batch's restoration is already at hand
        # (another method asked for it in this trace), its rows are reused.
        routed = tf.where(~sharp)[:, 0]
        full = cached(restorer, images)
        if full is not None:
            restored_logits = tf.gather(full.logits, routed)
            restored_images = tf.gather(full.classified, routed)
        else:
            # TF's CPU kernels fail on convolutions over an empty batch, so an
            # all-sharp batch restores one spare row that is then dropped.
            count = tf.size(routed)
            padded = tf.concat([routed, tf.zeros([1], routed.dtype)], 0)
            padded = padded[: tf.maximum(count, 1)]
            restored = restored_by(
                restorer,
                tf.gather(images, padded),
                (
                    tf.gather(estimated_length, padded),
                    tf.gather(estimated_angle, padded),
                ),
            )
            restored_logits = restored.logits[:count]
            restored_images = restored.classified[:count]
        rows = routed[:, tf.newaxis]
        return MethodOutput(
            tf.tensor_scatter_nd_update(plain.logits, rows, restored_logits),
            tf.tensor_scatter_nd_update(images, rows, restored_images),
        )

    def wiener(images, length, angle):
        estimated_length, estimated_angle = estimate(images)
        return classified_by_c(
            wiener_deconvolve(
                images, estimated_length, estimated_angle, config.wiener_noise_to_signal
            )
        )

    def wiener_oracle(images, length, angle):
        return classified_by_c(
            wiener_deconvolve(images, length, angle, config.wiener_noise_to_signal)
        )

    def augment(images, length, angle):
        return MethodOutput(models.classifier_augment(images, training=False), images)

    table = {
        Method.NONE: none,
        Method.EGAN: egan,
        Method.EGAN_BLUR: egan_blur,
        Method.EGAN_REFINE: egan_refine,
        Method.GATED: gated,
        Method.WIENER: wiener,
        Method.WIENER_ORACLE: wiener_oracle,
        Method.AUGMENT: augment,
    }
    return {method: table[method] for method in methods}


def method_views(
    models: DefenseModels,
    config: DefenseConfig,
    methods,
    images: tf.Tensor,
    length: float,
    angle: float,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """What each method shows the classifier, for a figure.

    Args:
        images: float32 [count, 28, 28, 1] in [0, 1], sharp.
        length, angle: The blur applied to them (the Fourier model).

    Returns:
        (row title, images float32 [count, 28, 28, 1], predicted labels int64
        [count]) for the blurred input seen by C, then for each other method.
    """
    count = int(images.shape[0])
    blurred = apply_motion_blur(images, length, angle)
    true_length = tf.fill([count], float(length))
    true_angle = tf.fill([count], float(angle))
    ordered = [Method.NONE] + [Method(m) for m in methods if Method(m) != Method.NONE]
    views = []
    for method, function in make_method_functions(models, config, ordered).items():
        output = function(blurred, true_length, true_angle)
        title = "blurred, C" if method == Method.NONE else str(method)
        views.append(
            (title, np.asarray(output.classified), tf.argmax(output.logits, -1).numpy())
        )
    return views
