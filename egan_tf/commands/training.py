"""The training commands: one per network (`reproduce.py` runs them all)."""

from __future__ import annotations

import dataclasses

import click

from egan_tf.commands.data_options import (
    models_option,
    output_option,
)
from egan_tf.commands.options import (
    DEFAULT_TRAININGS,
    TRAINING_OPTION_NAMES,
    FiniteFloat,
    blur_sampling_options,
    build_request,
    given_options,
    one_line_errors,
    training_options,
)
from egan_tf.config import BlurSamplingConfig, EganConfig
from egan_tf.defaults import PAPER_CROSS_VALIDATION, classifier_training


@click.command("train-classifier")
@training_options(
    DEFAULT_TRAININGS["classifier"],
    epochs_of=lambda dataset: classifier_training(dataset).epochs,
)
@blur_sampling_options(
    "Beyond the paper: the augment baseline. Blur every training image at random "
    "l in [0, this] and any angle, and write classifier_augment.keras."
)
@click.option(
    "--blur-mixture",
    is_flag=True,
    help="Issue 12: blur every training image by the Fourier model or camera "
    "shake, then read noise (the training mixture), and write "
    "classifier_mixture.keras.",
)
@output_option(
    "classifier.keras and classifier.json (or classifier_augment.*, classifier_mixture.*)"
)
@one_line_errors
def train_classifier_command(training, run, input_blur, blur_mixture, output):
    """Train the classifier C; resumes from --checkpoint-dir."""
    from egan_tf.config import BlurMixtureConfig, ClassifierConfig
    from egan_tf.training.classifier import train_and_save_classifier

    if blur_mixture and input_blur is not None:
        raise click.UsageError(
            "--blur-mixture and --blur-max-length exclude each other."
        )
    if blur_mixture:
        input_blur = BlurMixtureConfig()

    with run.runtime() as runtime:
        card = train_and_save_classifier(
            ClassifierConfig(),
            training,
            run.training_examples(),
            run.test_examples(),
            run.checkpoint_dir,
            output,
            run.logdir,
            show_progress=run.show_progress,
            augmentation=input_blur,
            runtime=runtime,
        )
    click.echo(
        f"Classifier test accuracy {card['test_accuracy']:.2%}; written to {output}"
    )


@click.command("train-gan")
@training_options(DEFAULT_TRAININGS["gan"])
@click.option(
    "--latent-dim",
    type=click.IntRange(min=1),
    default=EganConfig.latent_dim,
    show_default=True,
)
@output_option("generator.keras, discriminator.keras and gan.json")
@one_line_errors
def train_gan_command(training, run, latent_dim, output):
    """Train the GAN (stage 1 of the EGAN); resumes from --checkpoint-dir."""
    from egan_tf.config import EganConfig
    from egan_tf.training.gan import train_and_save_gan

    with run.runtime() as runtime:
        card = train_and_save_gan(
            EganConfig(latent_dim=latent_dim),
            training,
            run.training_examples(),
            run.checkpoint_dir,
            output,
            run.logdir,
            show_progress=run.show_progress,
            runtime=runtime,
        )
    click.echo(
        f"GAN trained for {card['schedule_run']['epochs']} epochs; models written to {output}"
    )


# E's loss weights (`EncoderLossConfig`'s fields), each defaulting to its
# data set's value.
_LOSS_WEIGHTS = ("pixel_weight", "latent_cycle_weight", "classifier_weight")


def _loss_weight_options(command):
    """Adds an option per loss weight of E; None where not given."""
    for name in reversed(_LOSS_WEIGHTS):
        command = click.option(
            f"--{name.replace('_', '-')}",
            type=click.FloatRange(min=0),
            default=None,
            show_default="by data set",
        )(command)
    return command


@click.command("train-encoder")
@training_options(
    DEFAULT_TRAININGS["encoder"], learning_rate_shown="1e-3; 5e-4 for E_blur"
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=PAPER_CROSS_VALIDATION.folds,
    show_default=True,
    help="Cross-validation folds.",
)
@click.option(
    "--max-folds",
    type=click.IntRange(min=1),
    default=None,
    show_default="all; for E_blur by data set",
    help="Train only the first N folds (quick runs).",
)
@_loss_weight_options
@click.option(
    "--settling-epochs",
    type=click.IntRange(min=0),
    default=None,
    show_default="by data set; none for E_blur",
    help="Beyond the paper: train the kept fold's encoder this many epochs more "
    "on its fold at a cosine-decayed step (0: none).",
)
@click.option(
    "--settling-learning-rate",
    type=FiniteFloat(minimum=0.0),
    default=None,
    show_default="1e-3",
    help="The step settling's cosine starts from.",
)
@click.option(
    "--settling-temperature",
    type=FiniteFloat(minimum=0.0),
    default=None,
    show_default="by data set",
    help="The temperature of E's classifier term while settling (1: the "
    "paper's plain KL divergence).",
)
@click.option(
    "--settle-only",
    is_flag=True,
    help="Settle the encoder.keras of --models, trained by this command without "
    "settling, instead of training folds: its card gives the folds, schedule and "
    "loss, so the training and weight options are not used.",
)
@blur_sampling_options(
    "Beyond the paper: fine-tune the shipped encoder.keras on inputs blurred at "
    "random l in [0, this] and any angle, and write encoder_blur.keras."
)
@models_option(
    "Folder holding the trained generator.keras and classifier.keras "
    "(and encoder.keras for --blur-max-length)."
)
@output_option("encoder.keras and encoder.json (or encoder_blur.*)")
@one_line_errors
def train_encoder_command(
    training,
    run,
    folds,
    max_folds,
    settling_epochs,
    settling_learning_rate,
    settling_temperature,
    settle_only,
    input_blur,
    models_dir,
    output,
    **loss_weights,
):
    """Train the encoder E (stage 2 of the EGAN) by k-fold cross-validation."""
    from egan_tf.defaults import (
        encoder_loss,
        encoder_schedule,
        resolve_encoder_settling,
    )
    from egan_tf.training.encoder_stage import (
        EncoderStageRequest,
        settle_and_save_encoder,
        train_and_save_encoder,
    )

    loss = dataclasses.replace(
        encoder_loss(run.data.dataset),
        **{name: value for name, value in loss_weights.items() if value is not None},
    )
    settling = build_request(
        resolve_encoder_settling,
        run.data.dataset,
        input_blur is not None,
        settling_epochs,
        settling_learning_rate,
        settling_temperature,
    )
    schedule_options = (*TRAINING_OPTION_NAMES, "folds", "max_folds")
    if settle_only:
        if input_blur is not None or settling is None:
            raise click.UsageError(
                "--settle-only settles E: it needs settling epochs and no "
                "--blur-max-length."
            )
        # The card gives the schedule and loss; an option that would change
        # them must not be taken silently.
        unused = given_options((*schedule_options, *_LOSS_WEIGHTS))
        if unused:
            names = ", ".join(f"--{name.replace('_', '-')}" for name in unused)
            raise click.UsageError(
                "--settle-only takes E's folds, schedule and loss from its card; "
                f"these options would not be used: {names}"
            )
        with run.runtime() as runtime:
            card = settle_and_save_encoder(
                settling,
                models_dir,
                run.training_examples(),
                run.test_examples(),
                run.checkpoint_dir,
                output,
                run.logdir,
                show_progress=run.show_progress,
                runtime=runtime,
            )
        test = card["test"]
        click.echo(
            f"Encoder of fold {card['best_fold']} settled for "
            f"{card['settling']['epochs']} epochs; EGAN test accuracy "
            f"{card['test_before_settling']['egan_accuracy']:.2%} -> "
            f"{test['egan_accuracy']:.2%}; written to {output}"
        )
        return
    # E_blur's schedule differs from E's, so the stage's defaults replace the
    # options' (training, folds, max_folds) wherever the user set none.
    del training, folds, max_folds
    schedule = build_request(
        encoder_schedule,
        run.data.dataset,
        input_blur is not None,
        given_options(schedule_options),
    )
    request = EncoderStageRequest(
        models_dir,
        schedule.training,
        loss,
        schedule.cross_validation,
        input_blur,
        settling,
        schedule.note,
    )
    with run.runtime() as runtime:
        card = train_and_save_encoder(
            request,
            run.training_examples(),
            run.test_examples(),
            run.checkpoint_dir,
            output,
            run.logdir,
            show_progress=run.show_progress,
            runtime=runtime,
        )
    test = card["test"]
    click.echo(
        f"Encoder kept from fold {card['best_fold']}"
        f"{', settled' if 'settled' in card else ''}; EGAN test accuracy "
        f"{test['egan_accuracy']:.2%}, reconstruction MSE {test['reconstruction_mse']:.5f}; "
        f"written to {output}"
    )


@click.command("train-blur-estimator")
@training_options(DEFAULT_TRAININGS["blur_estimator"])
@click.option(
    "--max-length",
    type=FiniteFloat(minimum=0.0),
    default=BlurSamplingConfig.max_length,
    show_default=True,
    help="Train on blur lengths l uniform in [0, this], at any angle.",
)
@click.option(
    "--clean-fraction",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=BlurSamplingConfig.clean_fraction,
    show_default=True,
    help="Share of training images left sharp.",
)
@output_option("blur_estimator.keras and blur_estimator.json")
@one_line_errors
def train_blur_estimator_command(training, run, max_length, clean_fraction, output):
    """Train the blur estimator B, which reads (l, θ) off a blurred image."""
    from egan_tf.config import BlurEstimatorConfig, BlurSamplingConfig
    from egan_tf.training.blur_estimator import train_and_save_blur_estimator

    train = run.training_examples()
    with run.runtime() as runtime:
        card = train_and_save_blur_estimator(
            BlurEstimatorConfig(),
            training,
            BlurSamplingConfig(max_length=max_length, clean_fraction=clean_fraction),
            train,
            run.test_examples(),
            run.checkpoint_dir,
            output,
            run.logdir,
            validation_examples=max(1, len(train) // 12),
            show_progress=run.show_progress,
            runtime=runtime,
        )
    test = card["test_random_blur"]
    click.echo(
        f"Blur estimator on blurred test images: length error {test['length_mae']:.4f}, "
        f"angle error {test['angle_mae_degrees']:.1f}° (l ≥ 0.05); written to {output}"
    )
