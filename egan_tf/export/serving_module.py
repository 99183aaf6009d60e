"""The serving module: the functions behind each exported signature.

Like the TF Model Garden's export modules, it declares its signatures (from
`contract.SIGNATURES`) and keeps input checking and normalisation inside the
graph: TF Serving does not check a request against a signature's shapes, so
every serving function checks its own inputs and fails the request with
InvalidArgument naming the bad input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from egan_tf.blur import apply_motion_blur
from egan_tf.config import IMAGE_SHAPE
from egan_tf.defenses import (
    DefenseConfig,
    DefenseModels,
    Method,
    apply_methods,
    load_defense_file,
    load_defense_models,
    observe,
)
from egan_tf.export.contract import SIGNATURES, Signature, TensorContract
from egan_tf.model_io import ShippedModels, load_shipped_models
from egan_tf.user_classifier import (
    UserClassifier,
    shipped_with_user_classifier,
    with_user_classifier,
)


class ExportError(ValueError):
    """The export could not be written or failed its own verification."""


def _input_spec(contract: TensorContract) -> tf.TensorSpec:
    return tf.TensorSpec(contract.shape, tf.as_dtype(contract.dtype), name=contract.key)


def input_signature(signature: Signature) -> list[tf.TensorSpec]:
    """The `tf.TensorSpec`s of a signature's inputs, in argument order."""
    return [_input_spec(contract) for contract in SIGNATURES[signature].inputs]


def checked_images(images: tf.Tensor) -> tf.Tensor:
    """Validates request images in the graph and clips them to [0, 1].

    The static shape of a signature input is not enforced by the model server,
    so a request of another shape would otherwise reach the convolutions and
    fail there with a message about some inner layer, or not fail at all.

    Args:
        images: float32 [batch, 28, 28, 1], any values.

    Returns:
        float32 [batch, 28, 28, 1] in [0, 1].

    Raises:
        InvalidArgumentError: At run time, naming `images`, for another shape or
            for NaN or infinite values.
    """
    images = tf.ensure_shape(images, [None, *IMAGE_SHAPE], name="images")
    images = tf.debugging.assert_all_finite(images, "images must be finite")
    return tf.clip_by_value(images, 0.0, 1.0)


def checked_blur_parameters(
    images: tf.Tensor, length: tf.Tensor, angle: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Validates per-image blur parameters in the graph.

    Args:
        images: float32 [batch, 28, 28, 1], already checked.
        length: float32 [batch], l ≥ 0 as a fraction of the image side.
        angle: float32 [batch], θ in degrees.

    Raises:
        InvalidArgumentError: At run time, naming `length` or `angle`, for a
            value count other than the batch size or a bad value.
    """
    batch_size = tf.shape(images)[0]
    checked = []
    for name, values in (("length", length), ("angle", angle)):
        values = tf.ensure_shape(values, [None], name=name)
        tf.debugging.assert_equal(
            tf.shape(values)[0],
            batch_size,
            message=f"{name} must hold one value per image",
        )
        checked.append(tf.debugging.assert_all_finite(values, f"{name} must be finite"))
    tf.debugging.assert_non_negative(checked[0], message="length must be non-negative")
    return checked[0], checked[1]


@dataclasses.dataclass(frozen=True)
class AdaptiveDefense:
    """The defence behind `defend_adaptive` (and, with `Method.GATED`,
    behind `defend_gated`).

    Attributes:
        method: A method of `egan_tf.defenses` that needs no knowledge of the
            true blur (not `wiener-oracle`), or None when none applies (a
            user's classifier has no mixture-trained copy for the hybrid):
            then only `defend_gated` is served.
        models: The networks it runs on.
        config: Its settings.
    """

    method: Method | None
    models: DefenseModels
    config: DefenseConfig

    def __post_init__(self):
        if self.method == Method.WIENER_ORACLE:
            raise ExportError(
                "wiener-oracle needs the true blur, which a request does not carry. "
                f"Received: method={self.method}"
            )

    def gated(self) -> AdaptiveDefense | None:
        """The `gated` defence on the same networks and settings, or None
        when a network it needs (B, or its restorer's) is not loaded."""
        if self.models.missing_for(Method.GATED, self.config.gated_restorer):
            return None
        return dataclasses.replace(self, method=Method.GATED)


def defence_outputs(
    defense: AdaptiveDefense, images: tf.Tensor
) -> dict[str, tf.Tensor]:
    """The outputs of `defend_adaptive` or `defend_gated` for checked images.

    The method runs as `evaluate --methods` runs it, through the registry, so
    the exported graph is the evaluated method; C(x), when the method reads
    it (the gate does), is computed once and also answers
    `undefended_probabilities`.

    Args:
        images: float32 [batch, 28, 28, 1] in [0, 1].

    Returns:
        The keys of `SIGNATURES[Signature.DEFEND_ADAPTIVE].outputs`.
    """
    # The true blur is unknown to a request; no exported method reads it.
    unknown = tf.zeros(tf.shape(images)[:1])
    methods = [defense.method]
    observation = observe(defense.models, methods, images, unknown, unknown)
    output = apply_methods(defense.models, defense.config, methods, observation)[
        defense.method
    ]
    plain_logits = (
        observation.plain.logits
        if observation.plain is not None
        else defense.models.classifier(images, training=False)
    )
    return {
        "probabilities": tf.nn.softmax(output.logits, axis=-1),
        "logits": output.logits,
        "label": tf.argmax(output.logits, axis=-1),
        "reconstruction": output.classified,
        "undefended_probabilities": tf.nn.softmax(plain_logits, axis=-1),
    }


def load_adaptive_defense(
    models_dir: str, classifier: UserClassifier | None = None
) -> AdaptiveDefense | None:
    """The `adaptive_method` named in `defense.json` with its networks and
    settings, or None when the file names none.

    With a user's `classifier` as C, a method that reads the shipped C's
    copies is not applicable, and `gated` restores without them (see
    `egan_tf.user_classifier`).
    """
    config, method = load_defense_file(models_dir)
    if method is None:
        return None
    models = load_defense_models(models_dir)
    if classifier is not None:
        models, config, _ = with_user_classifier(models, config, classifier)
        if models.missing_for(method, config.gated_restorer):
            method = None
    return AdaptiveDefense(method, models, config)


def load_export_models(
    models_dir: str, classifier: UserClassifier | None = None
) -> tuple[ShippedModels, AdaptiveDefense | None]:
    """The networks of an export: C (the user's `classifier` when given), G,
    E, and the adaptive defence when `defense.json` names one, sharing the
    same C, G and E objects so that the SavedModel stores each weight once."""
    adaptive = load_adaptive_defense(models_dir, classifier)
    if adaptive is None:
        shipped = load_shipped_models(models_dir, require_egan=True)
        if classifier is not None:
            shipped = shipped_with_user_classifier(shipped, classifier)
        return shipped, None
    shared = adaptive.models
    return ShippedModels(shared.classifier, shared.generator, shared.encoder), adaptive


def _defend_function(
    defense: AdaptiveDefense,
) -> Callable[[tf.Tensor], dict[str, tf.Tensor]]:
    # Converted or not, the graph is the same: the methods use tf.cond and
    # Python loops over step counts, not Python branches on tensors; without
    # this AutoGraph warns that it cannot convert the closure.
    @tf.autograph.experimental.do_not_convert
    def defend(images):
        return defence_outputs(defense, checked_images(images))

    return defend


def make_serving_functions(
    models: ShippedModels, adaptive: AdaptiveDefense | None = None
) -> dict[Signature, Callable[..., dict[str, tf.Tensor]]]:
    """The Python functions behind each signature, on in-memory models.

    Exported as they are, and called directly by tests to compare the loaded
    SavedModel with the in-memory pipeline. `defend_adaptive` is there only
    with `adaptive`, and `defend_gated` with it when its networks include
    what the gate needs.

    Returns:
        Signature -> function of the signature's inputs (float32 tensors, see
        `SIGNATURES`) returning a dict of its outputs.
    """
    if not models.has_egan:
        raise ExportError(
            "The export needs the classifier, generator and encoder. "
            "Received: models without an EGAN"
        )
    classifier, generator, encoder = models.classifier, models.generator, models.encoder

    def classify_checked(images):
        probabilities = tf.nn.softmax(classifier(images, training=False), axis=-1)
        return probabilities, tf.argmax(probabilities, axis=-1)

    def defend_checked(images):
        reconstruction = generator(encoder(images, training=False), training=False)
        probabilities, label = classify_checked(reconstruction)
        undefended_probabilities, _ = classify_checked(images)
        return {
            "probabilities": probabilities,
            "label": label,
            "reconstruction": reconstruction,
            "undefended_probabilities": undefended_probabilities,
        }

    def blur_checked(images, length, angle):
        length, angle = checked_blur_parameters(images, length, angle)
        return apply_motion_blur(images, length, angle)

    def serving_default(images):
        return defend_checked(checked_images(images))

    def blur(images, length, angle):
        return {"images": blur_checked(checked_images(images), length, angle)}

    def blur_and_defend(images, length, angle):
        blurred = blur_checked(checked_images(images), length, angle)
        return {**defend_checked(blurred), "blurred": blurred}

    def classify(images):
        probabilities, label = classify_checked(checked_images(images))
        return {"probabilities": probabilities, "label": label}

    functions = {
        Signature.SERVING_DEFAULT: serving_default,
        Signature.BLUR: blur,
        Signature.BLUR_AND_DEFEND: blur_and_defend,
        Signature.CLASSIFY: classify,
    }
    if adaptive is not None:
        for signature, defense in (
            (Signature.DEFEND_ADAPTIVE, adaptive if adaptive.method else None),
            (Signature.DEFEND_GATED, adaptive.gated()),
        ):
            if defense is not None:
                functions[signature] = _defend_function(defense)
    return functions
