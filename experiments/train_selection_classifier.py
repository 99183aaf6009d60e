"""Trains a selection-only stand-in for the classifier C.

The shipped C trained on all 60,000 training images, the held-out fold that
`choose_defense.py` selects on included. Its accuracy there is therefore not
its accuracy on images it has never seen, which is what the choice between
"give the image to C" and "restore it first" is about. This stand-in has C's
architecture, schedule and seed but trains on the other folds only, so on the
held-out fold it behaves like C on new images. It is used for choosing
settings and nowhere else; it is not shipped.

`--stand-in-for` names the shipped classifier to stand in for: C (default),
C_aug (`classifier_augment`) or C_mix (`classifier_mixture`). The stand-in
copies that classifier's card (architecture, schedule, seed and blur
augmentation) and is written under the same name in the output folder.

    python experiments/train_selection_classifier.py --output runs/selection
    python experiments/train_selection_classifier.py --stand-in-for classifier_mixture
"""

from __future__ import annotations

import json
import os

import click

# Each shipped classifier, and the name of its blur augmentation's config class.
AUGMENTATIONS = {
    "classifier": None,
    "classifier_augment": "BlurSamplingConfig",
    "classifier_mixture": "BlurMixtureConfig",
}


@click.command()
@click.option("--models", "models_dir", default="saved_models", show_default=True)
@click.option("--output", default="runs/selection", show_default=True)
@click.option(
    "--stand-in-for",
    "name",
    type=click.Choice(AUGMENTATIONS),
    default="classifier",
    show_default=True,
)
def main(models_dir, output, name):
    from egan_tf import config as configs
    from egan_tf.data import load_split
    from egan_tf.evaluation import accuracy_of
    from egan_tf.model_files import trained_data_set
    from egan_tf.model_io import save_model_atomically, write_model_card
    from egan_tf.training.classifier import train_classifier
    from egan_tf.training.encoder import kept_fold_split

    with open(os.path.join(models_dir, f"{name}.json"), encoding="utf-8") as f:
        classifier_card = json.load(f)
    augmentation_class = AUGMENTATIONS[name]
    augmentation = (
        getattr(configs, augmentation_class)(**classifier_card["augmentation"])
        if augmentation_class
        else None
    )
    with open(os.path.join(models_dir, "encoder_blur.json"), encoding="utf-8") as f:
        encoder_card = json.load(f)
    # The data set the networks learnt, from their cards.
    dataset, _ = trained_data_set(models_dir)
    kept_arrays, held_out_arrays = kept_fold_split(
        encoder_card, load_split("train", dataset=dataset)
    )
    os.makedirs(output, exist_ok=True)
    result = train_classifier(
        configs.ClassifierConfig(**classifier_card["model"]),
        configs.TrainingConfig(**classifier_card["training"]),
        kept_arrays,
        os.path.join(output, f"{name}_checkpoints"),
        os.path.join(output, f"{name}_logs"),
        augmentation=augmentation,
    )
    save_model_atomically(result.classifier, os.path.join(output, f"{name}.keras"))
    card = {
        "stage": f"selection_{name}",
        "train_examples": len(kept_arrays),
        "held_out_fold": encoder_card["best_fold"],
        "held_out_accuracy": accuracy_of(result.classifier, held_out_arrays),
        "wall_seconds": round(result.wall_seconds, 1),
    }
    write_model_card(os.path.join(output, f"{name}.json"), card)
    click.echo(json.dumps(card))


if __name__ == "__main__":
    main()
