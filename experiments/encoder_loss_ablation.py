"""Measures what each encoder loss term buys, on a data set's shipped G and C,
and chooses the weights on held-out training images.

Trains one encoder per loss variant on the same fold of the same training
subset, with the same seed and schedule. Each is measured on the fold's
validation images, which no variant trained on: C(G(E(x))) and the
reconstruction MSE. The variant with the highest validation C(G(E(x))) is
chosen (the lower validation MSE breaks ties); the test set is measured
afterwards and reported only. Writes the records to a JSON file (default:
the data set's models folder, encoder_ablation.json).

    python experiments/encoder_loss_ablation.py --epochs 2 --limit 30000 \
        [--dataset fashion_mnist]
"""

from __future__ import annotations

import os
import time

import click

from egan_tf.datasets import DatasetName

# (pixel, latent cycle, classifier KL) weights of each variant.
VARIANTS = {
    "pixel only": (1.0, 0.0, 0.0),
    "pixel + latent cycle": (1.0, 0.01, 0.0),
    "pixel + classifier KL": (1.0, 0.0, 0.01),
    "pixel + latent cycle + classifier KL": (1.0, 0.01, 0.01),
    "pixel + classifier KL at 0.1": (1.0, 0.0, 0.1),
    "pixel + classifier KL at 0.03": (1.0, 0.0, 0.03),
    "pixel + classifier KL at 0.003": (1.0, 0.0, 0.003),
    "pixel + classifier KL at 0.001": (1.0, 0.0, 0.001),
    "pixel + classifier KL at 0.0001": (1.0, 0.0, 0.0001),
}


def chosen_variant(records: list[dict]) -> dict:
    """The record with the highest validation C(G(E(x))), then lowest
    validation MSE."""
    return max(records, key=lambda record: (record["val_accuracy"], -record["val_mse"]))


@click.command()
@click.option(
    "--dataset",
    type=click.Choice([name.value for name in DatasetName]),
    default="mnist",
    show_default=True,
)
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--limit", type=click.IntRange(min=100), default=30000, show_default=True)
@click.option("--models", "models_dir", default=None, help="Default: the data set's.")
@click.option(
    "--workdir", default=None, help="Default: checkpoints/ablation/<dataset>."
)
@click.option("--output", default=None, help="Default: <models>/encoder_ablation.json.")
@click.option(
    "--variant",
    "variants",
    type=click.Choice(list(VARIANTS)),
    multiple=True,
    help="Only these variants (repeat the option); default: all.",
)
def main(dataset, epochs, limit, models_dir, workdir, output, variants):
    from egan_tf.atomic_files import write_json_atomically
    from egan_tf.config import (
        CrossValidationConfig,
        EganConfig,
        EncoderLossConfig,
        TrainingConfig,
    )
    from egan_tf.data import load_split
    from egan_tf.datasets import dataset_spec
    from egan_tf.evaluation import evaluate_clean
    from egan_tf.model_io import (
        GENERATOR_FILE,
        ShippedModels,
        load_model,
        load_shipped_models,
    )
    from egan_tf.training.encoder import train_encoder
    from egan_tf.training.encoder_fold import EncoderRun

    models_dir = models_dir or dataset_spec(dataset).models_folder("saved_models")
    workdir = workdir or os.path.join("checkpoints", "ablation", dataset)
    output = output or os.path.join(models_dir, "encoder_ablation.json")
    classifier = load_shipped_models(models_dir).classifier
    generator = load_model(os.path.join(models_dir, GENERATOR_FILE))
    train = load_split("train", dataset=dataset, limit=limit)
    test = load_split("test", dataset=dataset)
    training = TrainingConfig(epochs=epochs, batch_size=128, seed=0)
    records = []
    for name, (pixel, cycle, kl) in VARIANTS.items():
        if variants and name not in variants:
            continue
        start = time.monotonic()
        result = train_encoder(
            EncoderRun(
                EganConfig(latent_dim=generator.input_shape[-1]),
                training,
                EncoderLossConfig(pixel, cycle, kl),
                CrossValidationConfig(folds=5, max_folds=1),
            ),
            generator,
            classifier,
            train,
            os.path.join(
                workdir, name.replace(" ", "_").replace("+", "and").replace(".", "p")
            ),
            show_progress=False,
        )
        measured = evaluate_clean(
            ShippedModels(classifier, generator, result.encoder), test
        )
        fold = result.folds[0]
        record = {
            "variant": name,
            "pixel_weight": pixel,
            "latent_cycle_weight": cycle,
            "classifier_weight": kl,
            "val_accuracy": fold["val_accuracy"],
            "val_mse": fold["val_mse"],
            "test_reconstruction_mse": measured.reconstruction_mse,
            "test_egan_accuracy": measured.egan_accuracy,
            "seconds": round(time.monotonic() - start, 1),
        }
        records.append(record)
        click.echo(
            f"{name:40s} validation C(G(E(x))) {record['val_accuracy']:.2%} "
            f"MSE {record['val_mse']:.5f} | test {record['test_egan_accuracy']:.2%} "
            f"MSE {record['test_reconstruction_mse']:.5f} ({record['seconds']} s)"
        )
    chosen = chosen_variant(records)
    click.echo(f"Chosen on the validation fold: {chosen['variant']}")
    write_json_atomically(
        output,
        {
            "dataset": dataset,
            "protocol": f"fold 0 of 5 on the first {limit} {dataset} training "
            f"images, {epochs} epochs, batch 128, Adam 1e-3, seed 0; chosen by "
            "the highest C(G(E(x))) on the fold's validation images (then the "
            "lowest validation MSE); the test images measured afterwards, "
            "reported only",
            "chosen": chosen["variant"],
            "variants": records,
        },
    )


if __name__ == "__main__":
    main()
