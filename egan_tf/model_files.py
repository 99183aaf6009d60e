"""The file names of the shipped networks in a models folder, and the data
set they learnt (no TensorFlow here)."""

import json
import os

from egan_tf.datasets import DEFAULT_DATASET

CLASSIFIER_FILE = "classifier.keras"
GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
ENCODER_FILE = "encoder.keras"
# Beyond the paper: E fine-tuned on blurred inputs, the classifier trained with
# blur augmentation, and the blur estimator.
ENCODER_BLUR_FILE = "encoder_blur.keras"
AUGMENTED_CLASSIFIER_FILE = "classifier_augment.keras"
BLUR_ESTIMATOR_FILE = "blur_estimator.keras"
# Issue 12: C's architecture trained on the blur mixture (Fourier or camera
# shake, with sensor noise).
MIXTURE_CLASSIFIER_FILE = "classifier_mixture.keras"

# The model cards that say which data set a models folder's networks learnt.
_CARDS_NAMING_THE_DATA_SET = ("classifier.json", "gan.json", "encoder.json")


def trained_data_set(models_dir: str) -> tuple[str, str] | None:
    """The data set the networks in `models_dir` were trained on, and the
    card that says so; None when the folder has none of their cards. Cards
    written before the data set was recorded are MNIST's."""
    for card_name in _CARDS_NAMING_THE_DATA_SET:
        path = os.path.join(models_dir, card_name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                try:
                    card = json.load(handle)
                except json.JSONDecodeError:
                    continue
            return str(card.get("dataset", DEFAULT_DATASET.value)), path
    return None


def check_trained_on(models_dir: str, dataset: str) -> None:
    """Refuses networks trained on another data set than `dataset`: they
    would run, and quietly measure nonsense.

    Raises:
        ValueError: One line naming the card, its data set and the way out.
    """
    trained = trained_data_set(models_dir)
    if trained is not None and trained[0] != dataset:
        raise ValueError(
            f"The networks in {models_dir} were trained on {trained[0]} "
            f"({trained[1]}), not on {dataset}: pass --dataset {trained[0]}, "
            f"or --models with a folder of {dataset} networks. "
            f"Received: dataset={dataset!r}"
        )
