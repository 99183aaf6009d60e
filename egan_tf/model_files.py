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

# The paper's EGAN: without both, a folder measures its classifier only.
EGAN_FILES = (GENERATOR_FILE, ENCODER_FILE)

# The close-call margin of a folder's classifiers under bfloat16, chosen on
# held-out training images by `reproduce --stages bf16_margin`: twice the
# largest top-two logit margin at which a bfloat16 label differed from
# float32's.
BFLOAT16_MARGIN_FILE = "bf16_margin.json"

# The `reproduce` stage (`ReproduceStage` value) that trains each network file,
# so that a missing file's error can say how to make it.
TRAINING_STAGE_OF_FILE = {
    CLASSIFIER_FILE: "classifier",
    GENERATOR_FILE: "gan",
    DISCRIMINATOR_FILE: "gan",
    ENCODER_FILE: "encoder",
    ENCODER_BLUR_FILE: "encoder_blur",
    AUGMENTED_CLASSIFIER_FILE: "classifier_augment",
    MIXTURE_CLASSIFIER_FILE: "classifier_mixture",
    BLUR_ESTIMATOR_FILE: "blur_estimator",
}

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


def missing_files(models_dir: str, file_names) -> list[str]:
    """The names in `file_names` that `models_dir` lacks, in their order."""
    return [
        name
        for name in file_names
        if not os.path.isfile(os.path.join(models_dir, name))
    ]


def missing_models_message(models_dir: str, file_names: list[str]) -> str:
    """One line naming the networks missing from a models folder and the
    command that trains them.

    A shipped folder can lack networks that are still training (a second
    data set's, shipped stage by stage), so the line says which `reproduce`
    stages make them, for the data set the folder's cards name.
    """
    paths = [os.path.join(models_dir, name) for name in file_names]
    stages = list(dict.fromkeys(TRAINING_STAGE_OF_FILE[name] for name in file_names))
    trained = trained_data_set(models_dir)
    dataset = trained[0] if trained else DEFAULT_DATASET.value
    return (
        f"Model file not found: {', '.join(paths)}. Train "
        f"{'it' if len(paths) == 1 else 'them'} with: python cli.py reproduce "
        f"--dataset {dataset} --stages {','.join(stages)} --models {models_dir}"
    )


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
            f"Received: dataset={str(dataset)!r}"
        )


def load_recheck_margin(models_dir: str) -> float:
    """The close-call margin chosen for the classifiers in `models_dir`
    (its `bf16_margin.json`).

    Raises:
        ValueError: When the folder has none: a margin chosen for another
            data set's networks would be a guess.
    """
    path = os.path.join(models_dir, BFLOAT16_MARGIN_FILE)
    if not os.path.isfile(path):
        raise ValueError(
            f"bfloat16 needs the close-call margin of these networks, and "
            f"{models_dir} has no {BFLOAT16_MARGIN_FILE}: choose it on held-out "
            "training images with python cli.py reproduce --stages bf16_margin "
            f"--models {models_dir} (and its --dataset), or evaluate in float32. "
            f"Received: models={models_dir}"
        )
    with open(path, encoding="utf-8") as handle:
        return float(json.load(handle)["margin"])


def read_model_card(path: str) -> dict:
    """Reads a model card JSON; an empty dict when there is none."""
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
