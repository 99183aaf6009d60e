"""The defences by name, and which networks each needs (no TensorFlow here).

Adding a method: a member here, a row of `NEEDS`/`USES_GENERATOR` when it has
one, its function in its own module, and one line in `registry.METHODS`.
"""

from __future__ import annotations

import enum

from egan_tf.model_files import (
    AUGMENTED_CLASSIFIER_FILE,
    BLUR_ESTIMATOR_FILE,
    ENCODER_BLUR_FILE,
    MIXTURE_CLASSIFIER_FILE,
)


class Method(enum.StrEnum):
    """A defence in front of the classifier."""

    NONE = "none"  # C(x)
    EGAN = "egan"  # the paper: C(G(E(x)))
    EGAN_BLUR = "egan-blur"  # C(G(E_blur(x))), E fine-tuned on blurred inputs
    EGAN_REFINE = "egan-refine"  # E_blur's latent refined through G and the blur
    GATED = "gated"  # C(x) when B finds x sharp, else its restorer (the hybrid)
    WIENER = "wiener"  # Wiener deconvolution with B's (l, θ), then C
    WIENER_ORACLE = "wiener-oracle"  # Wiener with the true (l, θ): an upper bound
    AUGMENT = "augment"  # C_aug(x), C's architecture trained with blur augmentation
    AUGMENT_MIXTURE = "augment-mixture"  # C_mix(x), trained on the blur mixture
    HYBRID = "hybrid"  # C_mix(x) and C on G's restoration, probabilities multiplied


# The methods whose classified image (or one of them) is drawn by G.
EGAN_BASED_METHODS = (
    Method.EGAN,
    Method.EGAN_BLUR,
    Method.EGAN_REFINE,
    Method.GATED,
    Method.HYBRID,
)

# The restorations the hybrid can combine with C_mix.
HYBRID_RESTORERS = (Method.EGAN_BLUR, Method.EGAN_REFINE)

# The restorations `gated` can send the images B finds blurred to.
GATED_RESTORERS = (Method.EGAN_BLUR, Method.EGAN_REFINE, Method.HYBRID)

# The optional networks each method needs beyond C, G and E.
NEEDS: dict[Method, tuple[str, ...]] = {
    Method.EGAN_BLUR: ("encoder_blur",),
    Method.EGAN_REFINE: ("encoder_blur", "blur_estimator"),
    Method.GATED: ("encoder_blur", "blur_estimator"),
    Method.WIENER: ("blur_estimator",),
    Method.AUGMENT: ("classifier_augment",),
    Method.AUGMENT_MIXTURE: ("classifier_mixture",),
    Method.HYBRID: ("encoder_blur", "blur_estimator", "classifier_mixture"),
}

# Their files in a models folder.
NETWORK_FILES = {
    "encoder_blur": ENCODER_BLUR_FILE,
    "classifier_augment": AUGMENTED_CLASSIFIER_FILE,
    "blur_estimator": BLUR_ESTIMATOR_FILE,
    "classifier_mixture": MIXTURE_CLASSIFIER_FILE,
}


def needed_networks(
    method: Method, gated_restorer: Method | None = None
) -> tuple[str, ...]:
    """The optional networks `method` runs on; for `gated`, with those of its
    restorer `gated_restorer` when given."""
    method = Method(method)
    names = NEEDS.get(method, ())
    if method == Method.GATED and gated_restorer is not None:
        names += NEEDS.get(Method(gated_restorer), ())
    return tuple(dict.fromkeys(names))


def needed_files(method: Method, gated_restorer: Method | None = None) -> list[str]:
    """The files of the optional networks `method` runs on (see
    `needed_networks`)."""
    return [NETWORK_FILES[name] for name in needed_networks(method, gated_restorer)]


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
