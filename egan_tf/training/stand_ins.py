"""Trains the selection stand-ins of the shipped classifiers.

A shipped classifier trained on all training images, the held-out fold the
defence settings are chosen on included, so its accuracy there is not its
accuracy on images it has never seen, which is what the choice between
"give the image to C" and "restore it first" is about. Its stand-in copies
its card (architecture, schedule, seed and blur augmentation) but trains on
the other folds only, so on the held-out fold it behaves like the shipped
network on new images. Stand-ins choose settings and are never shipped.
"""

from __future__ import annotations

import dataclasses
import os

import keras

from egan_tf.config import (
    BlurMixtureConfig,
    BlurSamplingConfig,
    ClassifierConfig,
    TrainingConfig,
    config_from_dict,
)
from egan_tf.data import ImageArrays
from egan_tf.evaluation import accuracy_of
from egan_tf.model_io import read_model_card, save_model_atomically, write_model_card
from egan_tf.selection.config import StandIn
from egan_tf.splits import kept_fold_split
from egan_tf.training.classifier import train_classifier
from egan_tf.training.runtime import Runtime

# The blur augmentation each shipped classifier trained with.
_AUGMENTATIONS = {
    StandIn.CLASSIFIER: None,
    StandIn.CLASSIFIER_AUGMENT: BlurSamplingConfig,
    StandIn.CLASSIFIER_MIXTURE: BlurMixtureConfig,
}

# The card that names the held-out fold: E_blur never trained on it.
HELD_OUT_FOLD_CARD = "encoder_blur.json"


@dataclasses.dataclass(frozen=True)
class HeldOutSplit:
    """The training split cut by the kept blur encoder's fold.

    Attributes:
        kept: The images E_blur trained on; the stand-ins train on them.
        held_out: Its validation fold, which E_blur never trained on; the
            settings are chosen on it.
        fold: That fold's number.
    """

    kept: ImageArrays
    held_out: ImageArrays
    fold: int


def held_out_split(models_dir: str, train_arrays: ImageArrays) -> HeldOutSplit:
    """Cuts `train_arrays` by the fold E_blur's card in `models_dir` kept."""
    card = read_model_card(os.path.join(models_dir, HELD_OUT_FOLD_CARD))
    kept, held_out = kept_fold_split(card, train_arrays)
    return HeldOutSplit(kept, held_out, card["best_fold"])


def train_stand_in(
    stand_in: StandIn,
    models_dir: str,
    split: HeldOutSplit,
    checkpoint_dir: str,
    output_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> tuple[keras.Model, dict]:
    """Trains the stand-in of one shipped classifier (resuming from
    `checkpoint_dir`) and writes it with its card into `output_dir`.

    Args:
        stand_in: Which shipped classifier (its card in `models_dir` says how
            it trained).
        models_dir: The shipped networks' folder.
        split: The training split cut by E_blur's fold (`held_out_split`).
        checkpoint_dir, logdir: The stand-in's checkpoints and TensorBoard.
        output_dir: Where `<stand_in>.keras` and `<stand_in>.json` go.

    Returns:
        (the stand-in, its card): the card has the held-out fold and the
        stand-in's accuracy on it.
    """
    card = read_model_card(os.path.join(models_dir, f"{stand_in.value}.json"))
    augmentation_class = _AUGMENTATIONS[stand_in]
    augmentation = (
        config_from_dict(augmentation_class, card["augmentation"])
        if augmentation_class
        else None
    )
    result = train_classifier(
        config_from_dict(ClassifierConfig, card["model"]),
        config_from_dict(TrainingConfig, card["training"]),
        split.kept,
        checkpoint_dir,
        logdir,
        show_progress=show_progress,
        augmentation=augmentation,
        runtime=runtime,
    )
    stand_in_card = {
        "stage": f"selection_{stand_in.value}",
        "train_examples": len(split.kept),
        "held_out_fold": split.fold,
        "held_out_accuracy": accuracy_of(result.classifier, split.held_out),
        "epochs_run": result.epochs_done,
        "wall_seconds": round(result.wall_seconds, 1),
    }
    if runtime is not None and not runtime.is_chief:
        return result.classifier, stand_in_card
    save_model_atomically(
        result.classifier, os.path.join(output_dir, f"{stand_in.value}.keras")
    )
    write_model_card(os.path.join(output_dir, f"{stand_in.value}.json"), stand_in_card)
    return result.classifier, stand_in_card
