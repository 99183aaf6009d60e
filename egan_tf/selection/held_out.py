"""Every candidate defence setting's answers on held-out training images,
computed once, so that settings are compared without running a network again.

For each image and blur setting the answers hold B's estimated length and,
for every candidate view of the image (the image itself, G(E_blur(x)), the
refined restoration after each candidate number of steps, the Wiener filter
at each candidate K), the log probabilities given by the shipped classifier
and by its selection stand-in (`StandIn`): C and C' for the views, C_mix and
C_mix' and C_aug and C_aug' for the image itself. The hybrid's answers are
sums of these, so any weight can be scored later.

The answers are a flat mapping of NumPy arrays, the format of the `.npz`
file they are kept in:
    "labels": int64 [images];
    "kinds": str [settings]; "noises", "lengths", "angles": float32 [settings];
    "refine_kernel": float64 [2], the refined kernel's size and step size;
    "estimated_length": float16 [settings, images];
    "<view>/<reader>": float16 [settings, images, classes], where reader is
        "c" (the shipped network) or "proxy" (its stand-in) and view is
        "none", "mixture", "augment", "egan-blur", "refine <rate> <steps>" or
        "wiener <K>".
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from egan_tf.atomic_files import atomic_path
from egan_tf.blur_kinds import blur_setting
from egan_tf.config import config_to_dict
from egan_tf.data import to_unit_interval
from egan_tf.deconvolution import wiener_deconvolve
from egan_tf.defenses import (
    DefenseModels,
    estimate_blur,
    refine_latent_and_kernel_path,
)
from egan_tf.grid_spec import PAPER_LENGTH_SCALE, PAPER_LENGTHS, SHAKE_LENGTHS, BlurKind
from egan_tf.selection.config import HeldOutConfig, StandIn

# The key under which the answers file records what it was computed from.
FINGERPRINT_KEY = "fingerprint"


@dataclasses.dataclass(frozen=True)
class HeldOutSetting:
    """One blur setting of the held-out images.

    Attributes:
        kind: The blur family (a training family only).
        noise: Read-noise standard deviation, ≥ 0.
        length: l, a fraction of the image side (0: clean).
        angle: θ in degrees.
    """

    kind: BlurKind
    noise: float
    length: float
    angle: float


def held_out_settings(
    config: HeldOutConfig, rescaled_length_scale: float
) -> list[HeldOutSetting]:
    """Every setting, noise level by noise level: clean, the Fourier model at
    the paper's scale and at `rescaled_length_scale` at each of `config`'s
    angles, and camera shake at its five strengths."""
    settings = []
    for noise in config.noise_levels:
        settings.append(HeldOutSetting(BlurKind.FOURIER, noise, 0.0, 0.0))
        settings += [
            HeldOutSetting(BlurKind.FOURIER, noise, length * scale, angle)
            for scale in (PAPER_LENGTH_SCALE, rescaled_length_scale)
            for length in PAPER_LENGTHS
            for angle in config.angles
        ]
        settings += [
            HeldOutSetting(BlurKind.SHAKE, noise, length, 0.0)
            for length in SHAKE_LENGTHS
        ]
    return settings


@dataclasses.dataclass(frozen=True)
class _Readers:
    """For each group of views, the shipped classifier and its stand-in."""

    pairs: Mapping[str, tuple[tuple[str, keras.Model], ...]]

    @classmethod
    def create(cls, models: DefenseModels, stand_ins: Mapping[StandIn, keras.Model]):
        shipped = {
            StandIn.CLASSIFIER: models.classifier,
            StandIn.CLASSIFIER_MIXTURE: models.classifier_mixture,
            StandIn.CLASSIFIER_AUGMENT: models.classifier_augment,
        }
        missing = [name.value for name, model in shipped.items() if model is None]
        missing += [name.value for name in StandIn if name not in stand_ins]
        if missing:
            raise ValueError(
                "Choosing the defence needs every shipped classifier and its "
                f"stand-in. Received: missing={sorted(set(missing))}"
            )
        groups = {
            "c": StandIn.CLASSIFIER,
            "mixture": StandIn.CLASSIFIER_MIXTURE,
            "augment": StandIn.CLASSIFIER_AUGMENT,
        }
        return cls(
            {
                group: (("c", shipped[name]), ("proxy", stand_ins[name]))
                for group, name in groups.items()
            }
        )

    def read(self, outputs: dict, view: str, images: tf.Tensor, group: str = "c"):
        for reader_name, reader in self.pairs[group]:
            outputs[f"{view}/{reader_name}"] = tf.cast(
                tf.nn.log_softmax(reader(images, training=False)), tf.float16
            )


def _answers_function(models: DefenseModels, readers: _Readers, config: HeldOutConfig):
    """A tf.function from a blurred batch to every view's answers."""
    refine_steps = max(config.refine_step_candidates)

    @tf.function(autograph=False)
    def answers(blurred: tf.Tensor) -> dict[str, tf.Tensor]:
        estimate = estimate_blur(models, blurred)
        length, angle = estimate.length, estimate.angle
        outputs = {"estimated_length": tf.cast(length, tf.float16)}
        readers.read(outputs, "none", blurred)
        readers.read(outputs, "mixture", blurred, "mixture")
        readers.read(outputs, "augment", blurred, "augment")
        start = models.encoder_blur(blurred, training=False)
        readers.read(outputs, "egan-blur", models.generator(start, training=False))
        path, _ = refine_latent_and_kernel_path(
            models.generator, start, blurred, length, angle, refine_steps,
            config.refine_learning_rate, config.refine_kernel_learning_rate,
            config.refine_kernel_size,
        )  # fmt: skip
        for steps in config.refine_step_candidates:
            readers.read(
                outputs,
                f"refine {config.refine_learning_rate:g} {steps}",
                models.generator(path[steps], training=False),
            )
        for noise_to_signal in config.wiener_candidates:
            readers.read(
                outputs,
                f"wiener {noise_to_signal:g}",
                wiener_deconvolve(blurred, length, angle, noise_to_signal),
            )
        return outputs

    return answers


def collect_answers(
    models: DefenseModels,
    stand_ins: Mapping[StandIn, keras.Model],
    images: np.ndarray,
    labels: np.ndarray,
    settings: Sequence[HeldOutSetting],
    config: HeldOutConfig | None = None,
    show_progress: bool = True,
) -> dict[str, np.ndarray]:
    """Runs every candidate on `images` at every setting.

    Args:
        models: The shipped networks; E_blur and B are required, and C_mix
            and C_aug.
        stand_ins: Each shipped classifier's selection stand-in.
        images: uint8 [images, 28, 28, 1] in [0, 255], the held-out images.
        labels: int [images].
        settings: The blur settings (`held_out_settings`).
        config: The candidates and the noise seed (`HeldOutConfig()` if None).
        show_progress: Whether to draw a progress bar over the settings.

    Returns:
        The answers, in the format of this module's docstring.

    Raises:
        ValueError: When a network the candidates need is missing.
    """
    config = config or HeldOutConfig()
    if models.encoder_blur is None or models.blur_estimator is None:
        raise ValueError(
            "Choosing the defence needs E_blur and B. Received: "
            f"encoder_blur={models.encoder_blur is not None}, "
            f"blur_estimator={models.blur_estimator is not None}"
        )
    answers = _answers_function(models, _Readers.create(models, stand_ins), config)
    unit_images = to_unit_interval(images)
    collected: dict[str, list[np.ndarray]] = {}
    for number, setting in enumerate(
        tqdm(settings, desc="held-out settings", disable=not show_progress)
    ):
        batches = []
        for start in range(0, len(unit_images), config.batch_size):
            batch = tf.constant(unit_images[start : start + config.batch_size])
            indices = tf.range(start, start + int(batch.shape[0]), dtype=tf.int64)
            blurred = blur_setting(
                batch, indices, setting.length, setting.angle, setting.kind,
                setting.noise, config.seed, number,
            )  # fmt: skip
            batches.append(answers(blurred.images))
        for key in batches[0]:
            collected.setdefault(key, []).append(
                np.concatenate([batch[key].numpy() for batch in batches])
            )
    return {
        "labels": np.asarray(labels, np.int64),
        "refine_kernel": np.array(
            [config.refine_kernel_size, config.refine_kernel_learning_rate], np.float64
        ),
        "kinds": np.array([str(setting.kind) for setting in settings]),
        "noises": np.array([setting.noise for setting in settings], np.float32),
        "lengths": np.array([setting.length for setting in settings], np.float32),
        "angles": np.array([setting.angle for setting in settings], np.float32),
        **{key: np.stack(value) for key, value in collected.items()},
    }


def answers_fingerprint(
    networks: Mapping[str, keras.Model], config: HeldOutConfig, images: np.ndarray
) -> str:
    """A digest of what the answers depend on: the networks' weights (not
    their files, which record when they were saved), the config and the
    held-out images, so that stale answers are never reused."""
    digest = hashlib.sha256()
    for name in sorted(networks):
        digest.update(name.encode())
        for weights in networks[name].get_weights():
            digest.update(np.ascontiguousarray(weights).tobytes())
    digest.update(json.dumps(config_to_dict(config), sort_keys=True).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()


def save_answers(path: str, answers: Mapping[str, np.ndarray], fingerprint: str):
    """Writes the answers to a compressed `.npz` atomically."""
    with atomic_path(path, suffix=".tmp.npz") as temporary:
        np.savez_compressed(temporary, **answers, **{FINGERPRINT_KEY: fingerprint})


def load_answers(path: str, fingerprint: str | None = None):
    """The answers stored at `path`, every array read once (an npz archive
    decompresses on each access); None when the file is missing or, given
    a `fingerprint`, was computed from something else."""
    if not os.path.isfile(path):
        return None
    with np.load(path) as archive:
        stored = {name: archive[name] for name in archive.files}
    recorded = stored.pop(FINGERPRINT_KEY, None)
    if fingerprint is not None and (recorded is None or str(recorded) != fingerprint):
        return None
    return stored
