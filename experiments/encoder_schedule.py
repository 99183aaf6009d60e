"""Does a decaying step size close the EGAN's gap? A held-out measurement.

The shipped encoders train 20 epochs a fold at a constant Adam step of 1e-3,
and their validation accuracy C(G(E(x))) still swings by a point from epoch to
epoch at the end (Fashion-MNIST: 86.7 % to 88.2 % over fold 4's last five
epochs), the sign of a step size too large to settle. This continues the
shipped encoder (the best fold's) on that same fold's training images for
`--epochs` more epochs with the step decayed to zero along a cosine, and
measures its own fold's validation images (which no network but C saw) after
every epoch. Nothing is chosen on test images; they are measured once, at the
end, and only reported.

    python experiments/encoder_schedule.py run saved_models/fashion_mnist \\
        --epochs 10 --learning-rate 1e-3 --output /tmp/schedule.json
    python experiments/encoder_schedule.py figure saved_models/fashion_mnist \\
        /tmp/schedule.json --output docs/fashion_mnist/encoder_settling.png

`run --start` starts from another encoder file (the probes started from the
unsettled E), and `run --variant` adds capacity to E that starts at zero (a
hidden layer on its features, or a second pass that sees G(E(x))), the
capacity probe of session 24; `run --latents` also trains E to predict
refined latents (refined_latents.py); `run --consistency/--temperature`
changes E's classifier term (session 25's temperature probe). `run` writes
the per-epoch records as JSON and, with `--save`, the final encoder;
`figure` draws the kept fold's validation accuracy over its 20 epochs and
over each run's settling epochs after them.
"""

from __future__ import annotations

import json
import os
import time

import click


def with_variant(encoder, generator, variant: str):
    """E, or E with more capacity added so that it starts as E: `mlp-head`
    adds a hidden layer on E's features whose correction of the latent starts
    at zero; `second-pass` adds a second encoder that sees x beside G(E(x))
    and corrects E's latent (its last layer starts at zero), so E sees what
    its first guess got wrong."""
    import keras

    if variant == "plain":
        return encoder
    images = keras.Input(shape=(28, 28, 1), name="images")
    trunk = keras.Model(
        encoder.input, [encoder.get_layer("flatten").output, encoder.output]
    )
    features, first = trunk(images)
    if variant == "mlp-head":
        hidden = keras.layers.Dense(512, name="head_hidden")(features)
        hidden = keras.layers.LeakyReLU(negative_slope=0.2)(hidden)
    elif variant == "second-pass":
        drawn = keras.ops.stop_gradient(generator(first, training=False))
        pair = keras.layers.Concatenate()([images, drawn])
        hidden = keras.layers.Rescaling(2.0, offset=-1.0)(pair)
        for index, filters in enumerate((32, 64, 128)):
            hidden = keras.layers.Conv2D(
                filters, 4, strides=2, padding="same", name=f"second{index}"
            )(hidden)
            hidden = keras.layers.LeakyReLU(negative_slope=0.2)(hidden)
        hidden = keras.layers.Flatten()(hidden)
    else:
        raise ValueError(f"Unknown variant. Received: variant={variant}")
    correction = keras.layers.Dense(
        first.shape[-1], kernel_initializer="zeros", name="head_correction"
    )(hidden)
    latent = keras.layers.Add(name="latent_corrected")([first, correction])
    return keras.Model(images, latent, name="encoder")


CONSISTENCY_KINDS = ("kl", "logit-mse", "feature-mse")


def consistency_term(kind: str, temperature: float, features, images, reconstructions):
    """The per-image term that keeps C's reading of G(E(x)) close to its
    reading of x, float32 [batch]. `features` maps images to C's hidden
    features (128, after ReLU) and logits. `kl` is E's own term, both distributions
    softened by `temperature` and the divergence multiplied by its square
    (the product's term); `logit-mse` matches the logits;
    `feature-mse` matches C's hidden features, which say more than ten
    logits."""
    import tensorflow as tf

    from egan_tf import losses

    reference_features, reference_logits = features(images, training=False)
    drawn_features, drawn_logits = features(reconstructions, training=False)
    reference_features = tf.stop_gradient(reference_features)
    reference_logits = tf.stop_gradient(reference_logits)
    if kind == "kl":
        return losses.classifier_consistency_loss(
            reference_logits, drawn_logits, temperature
        )
    if kind == "logit-mse":
        return tf.reduce_mean(tf.square(reference_logits - drawn_logits), axis=-1)
    if kind == "feature-mse":
        return tf.reduce_mean(tf.square(reference_features - drawn_features), axis=-1)
    raise ValueError(f"Unknown consistency term. Received: kind={kind}")


def custom_step(
    encoder,
    generator,
    classifier,
    optimizer,
    loss_config,
    latent_weight: float,
    consistency: str,
):
    """E's step with a chosen consistency term (`consistency_term`, weighted
    by the loss's classifier weight) and, with `latent_weight` > 0, one more
    term: the mean squared distance between E(x) and the refined latent of x
    (its target). With E's own pixel and classifier weights at zero, E only
    regresses the refined latents, and G and C are not run."""
    import keras
    import tensorflow as tf

    from egan_tf import losses

    own_loss = loss_config.pixel_weight > 0 or loss_config.classifier_weight > 0
    features = keras.Model(
        classifier.input, [classifier.get_layer("hidden").output, classifier.output]
    )

    @tf.function
    def step(images, targets):
        with tf.GradientTape() as tape:
            latents = encoder(images, training=True)
            per_example = latent_weight * tf.reduce_mean(
                tf.square(latents - targets), axis=-1
            )
            if own_loss:
                reconstructions = generator(latents, training=False)
                per_example += loss_config.pixel_weight * losses.reconstruction_loss(
                    images, reconstructions
                )
                per_example += loss_config.classifier_weight * consistency_term(
                    consistency,
                    loss_config.classifier_temperature,
                    features,
                    images,
                    reconstructions,
                )
            loss = tf.reduce_mean(per_example)
        gradients = tape.gradient(loss, encoder.trainable_variables)
        optimizer.apply_gradients(
            zip(gradients, encoder.trainable_variables, strict=True)
        )
        return loss

    return step


def run_schedule(
    models_dir: str,
    epochs: int,
    learning_rate: float,
    classifier_weight: float | None,
    save: str | None,
    start: str | None = None,
    variant: str = "plain",
    latents: str | None = None,
    latent_weight: float = 0.0,
    latent_only: bool = False,
    consistency: str = "kl",
    temperature: float = 1.0,
) -> dict:
    """Continues E on its best fold with a cosine-decayed Adam step; returns
    the per-epoch validation records and the final test measurement."""
    import dataclasses

    import keras
    import numpy as np
    import tensorflow as tf

    from egan_tf.config import EncoderLossConfig
    from egan_tf.data import load_split, to_unit_interval
    from egan_tf.evaluation import measure_egan
    from egan_tf.model_files import trained_data_set
    from egan_tf.model_io import (
        CLASSIFIER_FILE,
        ENCODER_FILE,
        GENERATOR_FILE,
        load_model,
        read_model_card,
        save_model_atomically,
    )
    from egan_tf.splits import kfold_indices
    from egan_tf.training.encoder_step import make_encoder_train_step

    dataset = (trained_data_set(models_dir) or ("mnist", ""))[0]
    card = read_model_card(os.path.join(models_dir, "encoder.json"))
    loss_config = EncoderLossConfig(**card["loss"])
    if classifier_weight is not None:
        loss_config = dataclasses.replace(
            loss_config, classifier_weight=classifier_weight
        )
    if latent_only:
        loss_config = dataclasses.replace(
            loss_config, pixel_weight=0.0, classifier_weight=0.0
        )
    training, folds = card["training"], card["cross_validation"]["folds"]
    fold = card["best_fold"]
    generator = load_model(os.path.join(models_dir, GENERATOR_FILE))
    classifier = load_model(os.path.join(models_dir, CLASSIFIER_FILE))
    encoder = load_model(start or os.path.join(models_dir, ENCODER_FILE))
    generator.trainable = False
    encoder = with_variant(encoder, generator, variant)
    classifier.trainable = False

    train = load_split("train", dataset=dataset)
    train_indices, validation_indices = kfold_indices(
        len(train), folds, fold, training["seed"]
    )
    fold_train, fold_validation = (
        train.select(train_indices),
        train.select(validation_indices),
    )
    test = load_split("test", dataset=dataset)
    batch_size = training["batch_size"]
    steps_per_epoch = len(fold_train) // batch_size
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, decay_steps=epochs * steps_per_epoch
    )
    optimizer = keras.optimizers.Adam(schedule, beta_1=training["beta_1"])
    optimizer.build(encoder.trainable_variables)
    seed = tf.constant([0, 0], tf.int64)
    images_all = to_unit_interval(fold_train.images).numpy()
    labels_all = fold_train.labels
    loss_config = dataclasses.replace(loss_config, classifier_temperature=temperature)
    if latents or consistency != "kl":
        if latents:
            # Targets in the fold's own order (refined_latents.py), one per image.
            targets_all = np.load(latents)["refined_latents"]
        else:
            targets_all = np.zeros((len(images_all), encoder.output.shape[-1]))
        if len(targets_all) != len(images_all):
            raise ValueError(
                "The latents are not the fold's training images'. Received: "
                f"{len(targets_all)} latents for {len(images_all)} images"
            )
        targets_all = targets_all.astype(np.float32)
        custom = custom_step(
            encoder,
            generator,
            classifier,
            optimizer,
            loss_config,
            latent_weight,
            consistency,
        )

        def train_batch(batch):
            custom(tf.constant(images_all[batch]), tf.constant(targets_all[batch]))

    else:
        step = tf.function(
            make_encoder_train_step(
                encoder, generator, classifier, optimizer, loss_config
            )
        )

        def train_batch(batch):
            step(
                tf.constant(images_all[batch]),
                tf.constant(labels_all[batch]),
                seed,
                tf.constant(len(batch), tf.int64),
            )

    shuffler = np.random.default_rng(training["seed"] + fold)

    def validation_record(epoch: int, seconds: float) -> dict:
        measured = measure_egan(generator, encoder, fold_validation, classifier)
        return {
            "epoch": epoch,
            "val_accuracy": measured.defended_accuracy,
            "val_mse": measured.reconstruction_mse,
            "seconds": round(seconds, 1),
        }

    history = [validation_record(0, 0.0)]
    print(json.dumps(history[-1]), flush=True)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        order = shuffler.permutation(len(images_all))
        for offset in range(0, steps_per_epoch * batch_size, batch_size):
            train_batch(order[offset : offset + batch_size])
        history.append(validation_record(epoch, time.perf_counter() - started))
        print(json.dumps(history[-1]), flush=True)
    tested = measure_egan(generator, encoder, test, classifier)
    if save:
        save_model_atomically(encoder, save)
    return {
        "dataset": dataset,
        "fold": fold,
        "start": start or "the shipped encoder (the best fold's, after its 20 epochs)",
        "variant": variant,
        "latents": latents,
        "latent_weight": latent_weight,
        "consistency": consistency,
        "trainable_parameters": int(
            sum(np.prod(v.shape) for v in encoder.trainable_variables)
        ),
        "epochs": epochs,
        "learning_rate": learning_rate,
        "schedule": "cosine decay to 0 over the epochs, Adam",
        "loss": dataclasses.asdict(loss_config),
        "history": history,
        "test_examples": len(test),
        "test_plain_accuracy": tested.plain_accuracy,
        "test_egan_accuracy": tested.defended_accuracy,
        "test_reconstruction_mse": tested.reconstruction_mse,
    }


@click.group()
def main():
    """Settling's held-out measurement and its figure."""


@main.command("run")
@click.argument("models_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--learning-rate", type=float, default=1e-3, show_default=True)
@click.option(
    "--classifier-weight",
    type=float,
    default=None,
    help="Override E's classifier-KL weight (default: its card's).",
)
@click.option("--output", type=click.Path(dir_okay=False), required=True)
@click.option("--save", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--start",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The encoder to start from (default: the folder's encoder.keras).",
)
@click.option(
    "--variant",
    type=click.Choice(["plain", "mlp-head", "second-pass"]),
    default="plain",
    show_default=True,
)
@click.option(
    "--latents",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Refined latents of the fold's training images (refined_latents.py): "
    "E also learns to predict them.",
)
@click.option("--latent-weight", type=float, default=1.0, show_default=True)
@click.option(
    "--latent-only", is_flag=True, help="With --latents: drop E's own loss terms."
)
@click.option(
    "--consistency",
    type=click.Choice(CONSISTENCY_KINDS),
    default="kl",
    show_default=True,
    help="The term, weighted by the classifier weight, that keeps C's reading "
    "of G(E(x)) close to its reading of x.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0.0, min_open=True),
    default=1.0,
    show_default=True,
    help="With --consistency kl: the temperature both distributions are softened by.",
)
def run_command(
    models_dir,
    epochs,
    learning_rate,
    classifier_weight,
    output,
    save,
    start,
    variant,
    latents,
    latent_weight,
    latent_only,
    consistency,
    temperature,
):
    records = run_schedule(
        models_dir,
        epochs,
        learning_rate,
        classifier_weight,
        save,
        start,
        variant,
        latents,
        latent_weight if latents else 0.0,
        latent_only,
        consistency,
        temperature,
    )
    with open(output, "w") as file:
        json.dump(records, file, indent=2)
    print(
        f"test: C(G(E(x))) {records['test_egan_accuracy']:.4f}, "
        f"C {records['test_plain_accuracy']:.4f}, "
        f"MSE {records['test_reconstruction_mse']:.5f}"
    )


@main.command("figure")
@click.argument("models_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("runs", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--output", type=click.Path(dir_okay=False), required=True)
def figure_command(models_dir, runs, output):
    from egan_tf.model_files import read_model_card
    from egan_tf.plotting import plt, save_figure

    card = read_model_card(os.path.join(models_dir, "encoder.json"))
    fold = next(f for f in card["folds"] if f["fold"] == card["best_fold"])
    if "test_before_settling" in card:
        # A settled card: its settling is one more curve.
        temperature = card["settling"].get("classifier_temperature", 1.0)
        runs_records = [
            {"label": f"settled (shipped), KL at T {temperature:g}", **card["settled"]}
        ]
    else:
        runs_records = []
    for path in runs:
        with open(path) as file:
            record = json.load(file)
        weight = record["loss"]["classifier_weight"]
        # Records written before the temperature existed used the plain term.
        temperature = record["loss"].get("classifier_temperature", 1.0)
        record["label"] = (
            f"choice run: {record['epochs']} epochs from {record['learning_rate']:g}, "
            f"KL weight {weight:g} at T {temperature:g}"
        )
        record["history"] = record["history"][1:]
        runs_records.append(record)
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    figure.subplots_adjust(wspace=0.3)
    trained = len(fold["history"])
    for axis, key, name in (
        (axes[0], "val_accuracy", "validation C(G(E(x))), %"),
        (axes[1], "val_mse", "validation MSE of G(E(x))"),
    ):
        scale = 100 if key == "val_accuracy" else 1
        axis.plot(
            [row["epoch"] for row in fold["history"]],
            [scale * row[key] for row in fold["history"]],
            color="black",
            label=f"fold {fold['fold']}, the paper's constant step",
        )
        for record in runs_records:
            axis.plot(
                [trained] + [trained + row["epoch"] for row in record["history"]],
                [scale * fold["history"][-1][key]]
                + [scale * row[key] for row in record["history"]],
                marker=".",
                label=record["label"],
            )
        axis.axvline(trained, color="grey", linewidth=0.5)
        axis.set_xlabel("epoch")
        axis.set_ylabel(name)
    axes[0].set_ylim(bottom=80)
    axes[1].set_ylim(top=0.03)
    axes[0].legend(fontsize=7)
    figure.suptitle(
        f"{card['dataset']}: the kept fold's encoder, then settling at a "
        "cosine-decayed step (held-out fold images)",
        fontsize=9,
    )
    save_figure(figure, output)


if __name__ == "__main__":
    main()
