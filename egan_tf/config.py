"""Frozen configuration dataclasses, written as JSON beside checkpoints and logs.

Every network size and training setting lives in one of these small records, so
that a run can be described, saved and rebuilt from its JSON alone. Library code
takes these records as arguments and never reads command-line state.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, TypeVar

from egan_tf.atomic_files import write_json_atomically
from egan_tf.datasets import DEFAULT_DATASET, dataset_spec

# The geometry MNIST and Fashion-MNIST share: properties of the data sets,
# not tunable settings.
IMAGE_SIZE = 28
IMAGE_CHANNELS = 1
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, IMAGE_CHANNELS)
NUM_CLASSES = 10
# Side of the blur kernels drawn per example: odd, at most the image, room
# for a 13-pixel streak from the centre or a 25-pixel camera shake.
KERNEL_SIZE = 27

ConfigT = TypeVar("ConfigT")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which data set a run trains on, written beside its checkpoints so that
    a run is never resumed on another data set.

    Attributes:
        dataset: "mnist" or "fashion_mnist".
    """

    dataset: str = DEFAULT_DATASET.value

    def __post_init__(self):
        object.__setattr__(self, "dataset", dataset_spec(self.dataset).name.value)


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    """Size of the convolutional classifier C.

    Attributes:
        filters: Number of filters of each convolutional block; every block is two
            3x3 convolutions followed by 2x2 max pooling.
        dense_units: Width of the hidden dense layer.
        dropout_rate: Dropout rate before and after the hidden dense layer.
    """

    filters: tuple[int, ...] = (32, 64)
    dense_units: int = 128
    dropout_rate: float = 0.4


@dataclasses.dataclass(frozen=True)
class EganConfig:
    """Size of the generator G, discriminator D and encoder E.

    Attributes:
        latent_dim: Length of the latent vector z that G maps to an image.
        generator_filters: Filters of G's 7x7 projection and of its 14x14 block.
        discriminator_filters: Filters of D's two strided convolutions (28 -> 14 -> 7).
        encoder_filters: Filters of E's three strided convolutions (28 -> 14 -> 7 -> 4).
    """

    latent_dim: int = 100
    generator_filters: tuple[int, int] = (128, 32)
    discriminator_filters: tuple[int, int] = (32, 64)
    encoder_filters: tuple[int, int, int] = (32, 64, 128)


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings shared by every training stage.

    Attributes:
        epochs: Passes over the training data (per fold for the encoder).
        batch_size: Examples per step; the last partial batch is kept.
        learning_rate: Adam learning rate.
        beta_1: Adam first-moment decay (0.5 is the DCGAN setting).
        seed: Seed of weight initialisation, data order and sampled noise.
        summary_every_steps: How often image summaries go to TensorBoard.
        log_every_steps: How often per-step scalars go to TensorBoard.
    """

    epochs: int
    batch_size: int
    learning_rate: float = 1e-3
    beta_1: float = 0.9
    seed: int = 0
    summary_every_steps: int = 500
    log_every_steps: int = 50


def _check_temperature(temperature: float) -> None:
    if not 0 < temperature < float("inf"):
        raise ValueError(
            "classifier_temperature must be positive and finite. "
            f"Received: classifier_temperature={temperature}"
        )


@dataclasses.dataclass(frozen=True)
class EncoderLossConfig:
    """Weights of the encoder loss terms (a zero weight drops the term).

    Attributes:
        pixel_weight: Mean squared error between x and G(E(x)).
        latent_cycle_weight: Mean squared error between z and E(G(z)) on sampled z,
            which keeps E's outputs where G was trained.
        classifier_weight: KL divergence between C(x) and C(G(E(x))), which keeps
            the digit's identity through the reconstruction.
        classifier_temperature: Beyond the paper: the temperature both of C's
            distributions are softened by in that term (1: the paper's plain
            KL divergence; `losses.classifier_consistency_loss`).
    """

    # MNIST's weights (experiments/encoder_loss_ablation.py, saved_models/
    # encoder_ablation.json); `encoder_loss` gives each data set's.
    pixel_weight: float = 1.0
    latent_cycle_weight: float = 0.0
    classifier_weight: float = 0.001
    classifier_temperature: float = 1.0

    def __post_init__(self):
        _check_temperature(self.classifier_temperature)


@dataclasses.dataclass(frozen=True)
class SettlingConfig:
    """Beyond the paper: the kept fold's encoder trained on at a decaying step.

    Cross-validation keeps one fold's encoder; settling trains it `epochs`
    more on the same fold's training images, with Adam's step decayed from
    `learning_rate` to zero along a cosine, and validates it on the fold's own
    held-out images after every epoch. At the paper's constant step, E's
    validation accuracy C(G(E(x))) still swings by a point from epoch to epoch
    at the end of its 20 epochs on Fashion-MNIST: the step is too large for E
    to settle in the minimum it has found.

    Attributes:
        epochs: Epochs of settling; at least 1.
        learning_rate: The step the cosine starts from.
        classifier_temperature: The temperature of E's classifier term while
            settling (`EncoderLossConfig.classifier_temperature`); the folds
            keep their own.
    """

    epochs: int
    learning_rate: float = 1e-3
    classifier_temperature: float = 1.0

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(
                f"Settling needs at least one epoch. Received: epochs={self.epochs}"
            )
        if not 0 < self.learning_rate < float("inf"):
            raise ValueError(
                "learning_rate must be positive and finite. "
                f"Received: learning_rate={self.learning_rate}"
            )
        _check_temperature(self.classifier_temperature)


@dataclasses.dataclass(frozen=True)
class BlurEstimatorConfig:
    """Size of the blur estimator, a small CNN that reads (l, θ) off an image.

    Attributes:
        filters: Filters of its convolutions; each after the first halves
            the resolution.
        dense_units: Width of the hidden dense layer.
    """

    filters: tuple[int, ...] = (32, 64, 64)
    dense_units: int = 128


@dataclasses.dataclass(frozen=True)
class BlurSamplingConfig:
    """Random linear motion blur, drawn independently for every training example.

    Attributes:
        max_length: Blurred examples get l uniform in [0, max_length] (a
            fraction of the image side). 0.4 covers the paper's lengths at
            both length scales of the grid (up to 0.05 x 6 = 0.3) and beyond.
        clean_fraction: Share of examples left sharp (l = 0), so that what is
            learnt for blurred digits is not paid for on clean ones.
        max_angle: θ is uniform in [0, max_angle) degrees; 360 is every
            direction (θ and θ + 180 give the same streak, shifted).
    """

    max_length: float = 0.4
    clean_fraction: float = 0.2
    max_angle: float = 360.0

    def __post_init__(self):
        if not self.max_length > 0:
            raise ValueError(
                f"max_length must be positive. Received: max_length={self.max_length}"
            )
        if not 0 <= self.clean_fraction < 1:
            raise ValueError(
                f"clean_fraction must be in [0, 1). Received: clean_fraction={self.clean_fraction}"
            )


@dataclasses.dataclass(frozen=True)
class BlurMixtureConfig:
    """Random blur from the training families of issue 12, per example: the
    paper's Fourier model or camera shake, then sensor noise.

    The spatial line kernel and the trail are never drawn here: they are the
    families the defences must hold on without having seen them.

    Attributes:
        clean_fraction: Share of examples left sharp (noise still applies).
        shake_fraction: Share of the blurred examples given camera shake; the
            rest get the Fourier model.
        max_length: Fourier l uniform in [0, max_length] (fraction of the side).
        max_shake_extent: Shake extent uniform in [1, this] pixels.
        max_noise: Read-noise sigma uniform in [0, max_noise] on the [0, 1] scale,
            then 8-bit quantisation.
    """

    clean_fraction: float = 0.2
    shake_fraction: float = 0.5
    max_length: float = 0.4
    max_shake_extent: float = 10.0
    max_noise: float = 0.02

    def __post_init__(self):
        for name in ("clean_fraction", "shake_fraction"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1]. Received: {name}={value}")
        if not 0 < self.max_length <= 1:
            raise ValueError(
                f"max_length must be in (0, 1]. Received: max_length={self.max_length}"
            )
        if not 1 <= self.max_shake_extent <= KERNEL_SIZE - 2:
            raise ValueError(
                f"max_shake_extent must be in [1, {KERNEL_SIZE - 2}] pixels. "
                f"Received: max_shake_extent={self.max_shake_extent}"
            )
        if not 0 <= self.max_noise <= 0.5:
            raise ValueError(
                f"max_noise must be in [0, 0.5]. Received: max_noise={self.max_noise}"
            )


@dataclasses.dataclass(frozen=True)
class CrossValidationConfig:
    """Cross-validation of the encoder.

    Attributes:
        folds: Number of folds; each fold trains a fresh encoder on the other
            folds and validates on its own at the end of every epoch.
        max_folds: Train only the first `max_folds` folds (None: all of them).
            The paper trains all five; fewer is for quick runs.
    """

    folds: int = 5
    max_folds: int | None = None

    @property
    def trained_folds(self) -> int:
        """How many folds train: the first `max_folds`, or all of them."""
        return min(self.max_folds or self.folds, self.folds)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Returns a JSON-ready dict of a config dataclass (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(config_class: type[ConfigT], values: dict[str, Any]) -> ConfigT:
    """Builds `config_class` from a dict, turning lists back into tuples.

    Raises:
        ValueError: If `values` holds a key that `config_class` does not have.
    """
    field_names = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - field_names)
    if unknown:
        raise ValueError(
            f"Unknown fields for {config_class.__name__}. Received: unknown={unknown}"
        )
    converted = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in values.items()
    }
    return config_class(**converted)


def save_configs(path: str, **configs: Any) -> None:
    """Writes several named configs as one JSON object."""
    write_json_atomically(
        path, {name: config_to_dict(config) for name, config in configs.items()}
    )
