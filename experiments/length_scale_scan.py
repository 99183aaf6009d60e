"""Finds the length scale at which the undefended classifier falls the way the
paper's results imply.

The paper's EGAN (Table 2) beats no defence for length > 0.02 and loses for
length <= 0.02, so its undefended accuracy must sit above its Table 2 figures for
length <= 0.02 and below them for length >= 0.03, with θ = 0 the worst angle. This
script measures C(blur(x)) on the paper's subset (test images C gets right
when clean) for several length scales and reports, for each, how many of
those conditions hold. Writes saved_models/length_scale_scan.json.

    python experiments/length_scale_scan.py --limit 10000
    python experiments/length_scale_scan.py --dataset fashion_mnist   # its own folder
"""

from __future__ import annotations

import os

import click


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=10000, show_default=True)
@click.option("--scales", default="1,2,3,4,5,6,7,8,10", show_default=True)
@click.option(
    "--dataset",
    type=click.Choice(["mnist", "fashion_mnist"]),
    default="mnist",
    show_default=True,
)
@click.option(
    "--models",
    "models_dir",
    default=None,
    help="Default: the data set's folder in saved_models/.",
)
@click.option(
    "--output",
    default=None,
    help="Default: length_scale_scan.json in the models folder.",
)
def main(limit, scales, dataset, models_dir, output):
    import numpy as np
    import tensorflow as tf

    from egan_tf.atomic_files import write_json_atomically
    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.datasets import dataset_spec
    from egan_tf.grid_spec import PAPER_ANGLES, PAPER_LENGTHS
    from egan_tf.model_io import load_shipped_models
    from egan_tf.paper import PAPER_TABLE_2

    models_dir = models_dir or dataset_spec(dataset).models_folder("saved_models")
    output = output or os.path.join(models_dir, "length_scale_scan.json")
    classifier = load_shipped_models(models_dir).classifier
    test = load_split("test", dataset=dataset, limit=limit)
    images = to_unit_interval(test.images)
    predict = tf.function(
        lambda x, length, a: tf.argmax(classifier(apply_motion_blur(x, length, a)), -1)
    )
    clean_correct = (
        np.argmax(classifier.predict(images, batch_size=1000, verbose=0), -1)
        == test.labels
    )
    records = []
    for scale in [float(value) for value in scales.split(",")]:
        table = {}
        for length in PAPER_LENGTHS:
            for angle in PAPER_ANGLES:
                predictions = np.concatenate(
                    [
                        predict(
                            images[start : start + 1000],
                            tf.constant(length * scale),
                            tf.constant(angle),
                        ).numpy()
                        for start in range(0, len(test), 1000)
                    ]
                )
                table[(length, angle)] = 100 * float(
                    np.mean(predictions[clean_correct] == test.labels[clean_correct])
                )
        above = sum(
            table[(length, a)] > PAPER_TABLE_2[length][a]
            for length in (0.01, 0.02)
            for a in PAPER_ANGLES
        )
        below = sum(
            table[(length, a)] < PAPER_TABLE_2[length][a]
            for length in (0.03, 0.04, 0.05)
            for a in PAPER_ANGLES
        )
        theta_zero_worst = sum(
            table[(length, 0.0)] <= min(table[(length, a)] for a in PAPER_ANGLES)
            for length in PAPER_LENGTHS
        )
        record = {
            "length_scale": scale,
            "above_paper_table_2_for_l_le_0.02": f"{above}/8",
            "below_paper_table_2_for_l_ge_0.03": f"{below}/12",
            "theta_0_worst": f"{theta_zero_worst}/5",
            "accuracy_blurred_percent": {
                f"{length:g}": {
                    f"{a:g}": round(table[(length, a)], 2) for a in PAPER_ANGLES
                }
                for length in PAPER_LENGTHS
            },
        }
        records.append(record)
        click.echo(
            f"scale {scale:4g}: above {above}/8, below {below}/12, θ=0 worst {theta_zero_worst}/5, "
            f"l=0.05 row: {[round(table[(0.05, a)], 1) for a in PAPER_ANGLES]}"
        )
    write_json_atomically(
        output,
        {
            "dataset": dataset,
            "test_images": len(test),
            "subset_images": int(clean_correct.sum()),
            "scales": records,
        },
    )


if __name__ == "__main__":
    main()
