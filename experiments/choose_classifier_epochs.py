"""Chooses how many epochs C trains for on a data set, on held-out training
images, never on the test set; writes classifier_epochs.json into the data
set's models folder.

Each candidate trains the shipped architecture (`ClassifierConfig()`) with
the default schedule's batch, learning rate and cosine decay, for its number
of epochs, on all but the last `--held-out` training images, and is measured
on those last images. The fewest epochs within `--tolerance` of the best
held-out accuracy win: more epochs cost time for no measured gain.

    python experiments/choose_classifier_epochs.py --dataset fashion_mnist --epochs 10,20,30
"""

from __future__ import annotations

import dataclasses
import os

import click


@click.command()
@click.option(
    "--dataset",
    type=click.Choice(["mnist", "fashion_mnist"]),
    default="fashion_mnist",
    show_default=True,
)
@click.option("--epochs", "candidates", default="10,20,30", show_default=True)
@click.option("--held-out", type=click.IntRange(min=1), default=5000, show_default=True)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.001,
    show_default=True,
    help="Accuracy (a fraction) within which fewer epochs are preferred.",
)
@click.option("--work-dir", default="runs/classifier_epochs", show_default=True)
@click.option("--output", default=None, help="Default: the data set's models folder.")
def main(dataset, candidates, held_out, tolerance, work_dir, output):
    from egan_tf.atomic_files import write_json_atomically
    from egan_tf.config import ClassifierConfig
    from egan_tf.data import load_split
    from egan_tf.datasets import dataset_spec
    from egan_tf.defaults import DEFAULT_CLASSIFIER_TRAINING
    from egan_tf.evaluation import accuracy_of
    from egan_tf.machine import matmul_rate
    from egan_tf.training.classifier import train_classifier

    spec = dataset_spec(dataset)
    output = output or os.path.join(
        spec.models_folder("saved_models"), "classifier_epochs.json"
    )
    train = load_split("train", dataset=dataset)
    fit = train.select(slice(0, len(train) - held_out))
    validation = train.select(slice(len(train) - held_out, None))
    records = []
    for epochs in (int(value) for value in candidates.split(",")):
        training = dataclasses.replace(DEFAULT_CLASSIFIER_TRAINING, epochs=epochs)
        result = train_classifier(
            ClassifierConfig(),
            training,
            fit,
            os.path.join(work_dir, dataset, f"epochs{epochs}"),
            show_progress=False,
        )
        accuracy = accuracy_of(result.classifier, validation)
        records.append(
            {
                "epochs": epochs,
                "held_out_accuracy": accuracy,
                "wall_seconds": round(result.wall_seconds, 1),
            }
        )
        click.echo(f"{epochs} epochs: held-out accuracy {accuracy:.2%}")
    best = max(record["held_out_accuracy"] for record in records)
    chosen = min(
        record["epochs"]
        for record in records
        if record["held_out_accuracy"] >= best - tolerance
    )
    write_json_atomically(
        output,
        {
            "dataset": dataset,
            "held_out": f"the last {held_out} {spec.title} training images",
            "trained_on": len(fit),
            "tolerance": tolerance,
            "candidates": records,
            "chosen_epochs": chosen,
            "machine_fp32_matmul_gflops": round(matmul_rate(), 1),
        },
    )
    click.echo(f"Chosen: {chosen} epochs; written to {output}")


if __name__ == "__main__":
    main()
