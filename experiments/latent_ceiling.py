"""How far G's range lets an encoder go: the paper's EGAN cost against C, if
each test image got the best latent Adam can find for E's own objective.

E maps an image to one latent in a single pass; no encoder of G can do better
on its objective than searching that latent per image. This searches it:
Adam on z, started from E(x), against E's training loss for each image
(pixel MSE plus the data set's classifier-KL weight times KL(C(x) ‖ C(G(z))))
and, separately, against the pixel MSE alone. C(G(z)) after the search bounds
what a better-trained E, with this G and this loss, could reach on clean
images; if the bound misses a target, a longer E schedule cannot meet it.

    python experiments/latent_ceiling.py saved_models/fashion_mnist --limit 2000

Prints one markdown table (objective, Adam steps, C(G(z)) accuracy, its cost
against C on the same images, pixel MSE) and writes the records to
`<models>/latent_ceiling.json` unless `--output` says otherwise. Test images
are the first `--limit` of the split; nothing is chosen on them.
"""

from __future__ import annotations

import json
import os

import click

STEPS = (0, 50, 100, 200, 400)
LEARNING_RATE = 0.01
BATCH = 500


def search_records(
    models_dir: str, limit: int, steps: tuple[int, ...], learning_rate: float
) -> dict:
    """C(G(z)) and the pixel MSE after each number of Adam `steps` on z from
    E(x), for E's objective and for the pixel MSE alone."""
    import keras
    import numpy as np
    import tensorflow as tf

    from egan_tf import losses
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.model_files import trained_data_set
    from egan_tf.model_io import (
        CLASSIFIER_FILE,
        ENCODER_FILE,
        GENERATOR_FILE,
        load_model,
        read_model_card,
    )

    dataset = (trained_data_set(models_dir) or ("mnist", ""))[0]
    generator = load_model(os.path.join(models_dir, GENERATOR_FILE))
    encoder = load_model(os.path.join(models_dir, ENCODER_FILE))
    classifier = load_model(os.path.join(models_dir, CLASSIFIER_FILE))
    # The weight E trained with, from its card.
    weight = read_model_card(os.path.join(models_dir, "encoder.json"))["loss"][
        "classifier_weight"
    ]
    test = load_split("test", dataset=dataset, limit=limit)
    images_all = to_unit_interval(test.images).numpy()
    labels = np.asarray(test.labels)

    def objective(images, reference_logits, latents, kl_weight):
        reconstructions = generator(latents, training=False)
        per_example = losses.reconstruction_loss(images, reconstructions)
        if kl_weight > 0:
            per_example += kl_weight * losses.classifier_consistency_loss(
                reference_logits, classifier(reconstructions, training=False)
            )
        # Each image's loss depends on its own latent only: summing keeps
        # every image's gradient its own, whatever the batch.
        return tf.reduce_sum(per_example)

    def search(kl_weight):
        """Per checkpoint step: predicted labels and pixel MSE of G(z)."""
        predictions = {step: [] for step in steps}
        errors = {step: [] for step in steps}
        for start in range(0, len(images_all), BATCH):
            images = tf.constant(images_all[start : start + BATCH])
            reference = classifier(images, training=False)
            latents = tf.Variable(encoder(images, training=False))
            optimizer = keras.optimizers.Adam(learning_rate)

            @tf.function
            def adam_step(images=images, reference=reference, latents=latents,
                          optimizer=optimizer):  # fmt: skip
                with tf.GradientTape() as tape:
                    loss = objective(images, reference, latents, kl_weight)
                optimizer.apply_gradients([(tape.gradient(loss, latents), latents)])

            done = 0
            for step in steps:
                for _ in range(step - done):
                    adam_step()
                done = step
                reconstructions = generator(latents, training=False)
                predictions[step].append(
                    tf.argmax(classifier(reconstructions, training=False), -1).numpy()
                )
                errors[step].append(
                    losses.reconstruction_loss(images, reconstructions).numpy()
                )
        return [
            {
                "steps": step,
                "accuracy": float((np.concatenate(predictions[step]) == labels).mean()),
                "pixel_mse": float(np.concatenate(errors[step]).mean()),
            }
            for step in steps
        ]

    clean_predictions = np.concatenate(
        [
            tf.argmax(
                classifier(images_all[start : start + BATCH], training=False), -1
            ).numpy()
            for start in range(0, len(images_all), BATCH)
        ]
    )
    return {
        "dataset": dataset,
        "examples": len(labels),
        "learning_rate": learning_rate,
        "classifier_accuracy": float((clean_predictions == labels).mean()),
        "classifier_weight": weight,
        "objectives": {
            f"E's objective (pixel + {weight:g} KL)": search(weight),
            "pixel MSE only": search(0.0),
        },
    }


@click.command()
@click.argument("models_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--limit", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option(
    "--steps",
    default=",".join(str(step) for step in STEPS),
    show_default=True,
    help="Comma-separated Adam step counts to measure at.",
)
@click.option("--learning-rate", type=float, default=LEARNING_RATE, show_default=True)
@click.option("--output", default=None, help="Default: <models>/latent_ceiling.json.")
def main(models_dir, limit, steps, learning_rate, output):
    counts = tuple(sorted({int(step) for step in steps.split(",")}))
    record = search_records(models_dir, limit, counts, learning_rate)
    output = output or os.path.join(models_dir, "latent_ceiling.json")
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
    base = record["classifier_accuracy"]
    click.echo(
        f"C on the {record['examples']} clean test images: {100 * base:.2f} %\n\n"
        "| objective | Adam steps from E(x) | C(G(z)) % | cost against C (points) "
        "| pixel MSE |\n| --- | --- | --- | --- | --- |"
    )
    for name, rows in record["objectives"].items():
        for row in rows:
            click.echo(
                f"| {name} | {row['steps']} | {100 * row['accuracy']:.2f} | "
                f"{100 * (base - row['accuracy']):.2f} | {row['pixel_mse']:.4f} |"
            )
    click.echo(f"\nWrote {output}")


if __name__ == "__main__":
    main()
