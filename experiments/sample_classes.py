"""What G draws, read by C: the share of each class among G(z) for random z,
and how sure C is of them, for each models folder given. A G that covers its
data set draws every class about equally often (the test sets hold 10 % of
each) and draws images C reads with confidence; a class G rarely draws, or
draws blurry, is one its encoder's reconstructions will miss too.

    python experiments/sample_classes.py saved_models saved_models/fashion_mnist

Prints one markdown table: a row per class (its share of the samples in %,
C's mean top probability on them), and per models folder the samples'
normalised entropy over classes (1: every class equally often) and the share
C reads with probability at least 0.9.
"""

from __future__ import annotations

import os

import click
import numpy as np

SAMPLES = 10000
SEED = 0
CONFIDENT = 0.9


def class_shares(models_dir: str, samples: int, seed: int) -> dict:
    """C's reading of `samples` draws of G from `models_dir`: per class the
    share (fraction) and mean top probability, and the summary figures."""
    import tensorflow as tf

    from egan_tf.datasets import dataset_spec
    from egan_tf.model_files import trained_data_set
    from egan_tf.model_io import CLASSIFIER_FILE, GENERATOR_FILE, load_model

    generator = load_model(os.path.join(models_dir, GENERATOR_FILE))
    classifier = load_model(os.path.join(models_dir, CLASSIFIER_FILE))
    latents = tf.random.stateless_normal(
        [samples, generator.input_shape[-1]], seed=[seed, 0]
    )
    probabilities = np.concatenate(
        [
            tf.nn.softmax(
                classifier(generator(latents[start : start + 500], training=False))
            ).numpy()
            for start in range(0, samples, 500)
        ]
    )
    labels = probabilities.argmax(1)
    top = probabilities.max(1)
    classes = probabilities.shape[1]
    shares = np.bincount(labels, minlength=classes) / samples
    nonzero = shares[shares > 0]
    dataset = (trained_data_set(models_dir) or ("mnist", ""))[0]
    return {
        "title": dataset_spec(dataset).title,
        "class_names": dataset_spec(dataset).class_names,
        "shares": shares,
        "confidence": [
            float(top[labels == label].mean()) if (labels == label).any() else 0.0
            for label in range(classes)
        ],
        "entropy": float(-(nonzero * np.log(nonzero)).sum() / np.log(classes)),
        "confident_share": float((top >= CONFIDENT).mean()),
    }


@click.command()
@click.argument("models_dirs", nargs=-1, required=True)
@click.option(
    "--samples", type=click.IntRange(min=1), default=SAMPLES, show_default=True
)
@click.option("--seed", type=int, default=SEED, show_default=True)
def main(models_dirs, samples, seed):
    results = [class_shares(folder, samples, seed) for folder in models_dirs]
    header = " | ".join(
        f"{result['title']}: class | share % | C's mean top probability"
        for result in results
    )
    click.echo(f"| {header} |")
    click.echo("|" + " --- |" * (3 * len(results)))
    for label in range(len(results[0]["shares"])):
        cells = " | ".join(
            f"{result['class_names'][label]} | {100 * result['shares'][label]:.1f} | "
            f"{result['confidence'][label]:.3f}"
            for result in results
        )
        click.echo(f"| {cells} |")
    for result in results:
        click.echo(
            f"\n{result['title']}: {samples} samples, normalised class entropy "
            f"{result['entropy']:.3f}, C at least {CONFIDENT:g} sure of "
            f"{100 * result['confident_share']:.1f} %"
        )


if __name__ == "__main__":
    main()
