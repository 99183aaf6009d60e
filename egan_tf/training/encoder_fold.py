"""One fold of an encoder run: E trained (or settled) on the fold's training
images with G and C frozen, validated on its held-out images every epoch.

`EncoderRun` is everything that defines a run; `train_fold` is its loop for
one fold, which cross-validation (`encoder.py`) runs once per fold and
settling once more on the kept fold.
"""

from __future__ import annotations

import dataclasses
import os

import keras
import tensorflow as tf

from egan_tf.blur_sampling import blur_randomly
from egan_tf.config import (
    BlurSamplingConfig,
    CrossValidationConfig,
    EganConfig,
    EncoderLossConfig,
    SettlingConfig,
    TrainingConfig,
)
from egan_tf.data import ImageArrays, to_unit_interval
from egan_tf.evaluation import VALIDATION_BLUR_SEED, measure_egan
from egan_tf.networks import build_encoder
from egan_tf.splits import kfold_indices, num_batches
from egan_tf.training.encoder_step import make_encoder_train_step, settling_schedule
from egan_tf.training.loop import EpochLoop, summary_writer
from egan_tf.training.runtime import Runtime
from egan_tf.training.summaries import image_grid, side_by_side

# Settling's checkpoints and logs, in the run's checkpoint and log folders.
SETTLING_DIR = "settling"
_RECONSTRUCTION_GRID_SIZE = 16


@dataclasses.dataclass(frozen=True)
class EncoderRun:
    """Everything that defines an encoder run, written beside its checkpoints
    and into its model card.

    Attributes:
        model: Network sizes; `latent_dim` must match G's input.
        training: Epochs per fold, batch size, optimiser and seed (the seed
            also fixes the fold split).
        loss: Weights of the pixel, latent-cycle and classifier terms.
        cross_validation: Number of folds, and how many of them to train.
        input_blur: Train (and validate) on randomly blurred inputs with
            sharp targets; None trains on sharp inputs, as the paper does.
        settling: Beyond the paper: settle the kept fold's encoder at a
            decaying step; None keeps it as cross-validation left it.
    """

    model: EganConfig
    training: TrainingConfig
    loss: EncoderLossConfig
    cross_validation: CrossValidationConfig
    input_blur: BlurSamplingConfig | None = None
    settling: SettlingConfig | None = None

    @property
    def configs(self) -> dict:
        """The configs by name (`input_blur` and `settling` only when set)."""
        configs = {
            "model": self.model,
            "training": self.training,
            "loss": self.loss,
            "cross_validation": self.cross_validation,
        }
        if self.input_blur is not None:
            configs["input_blur"] = self.input_blur
        if self.settling is not None:
            configs["settling"] = self.settling
        return configs


def place_frozen(
    runtime: Runtime, generator: keras.Model, classifier: keras.Model | None
) -> tuple[keras.Model, keras.Model | None]:
    """The run's copies of G and C (`Runtime.place`), frozen: E trains
    through them and never changes them."""
    generator = runtime.place(generator)
    generator.trainable = False
    if classifier is not None:
        classifier = runtime.place(classifier)
        classifier.trainable = False
    return generator, classifier


def train_fold(
    fold: int,
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None,
    show_progress: bool,
    runtime: Runtime,
    initial_encoder: keras.Model | None = None,
    settling: bool = False,
) -> tuple[keras.Model, dict]:
    """Trains one fold's encoder, or with `settling`, settles
    `initial_encoder` on the fold (`SettlingConfig`); returns it and its
    record."""
    model_config, training_config, loss_config = run.model, run.training, run.loss
    cv_config, input_blur = run.cross_validation, run.input_blur
    train_indices, validation_indices = kfold_indices(
        len(train_arrays), cv_config.folds, fold, training_config.seed
    )
    fold_train = train_arrays.select(train_indices)
    fold_validation = train_arrays.select(validation_indices)
    learning_rate = training_config.learning_rate
    run_name = f"fold_{fold}"
    if settling:
        # The split and the seed stay the fold's; the schedule and the
        # classifier term's temperature are settling's.
        loss_config = dataclasses.replace(
            loss_config, classifier_temperature=run.settling.classifier_temperature
        )
        training_config = dataclasses.replace(
            training_config,
            epochs=run.settling.epochs,
            learning_rate=run.settling.learning_rate,
        )
        learning_rate = settling_schedule(
            run.settling, num_batches(len(fold_train), training_config.batch_size)
        )
        run_name = SETTLING_DIR
    keras.utils.set_random_seed(training_config.seed + fold)
    if initial_encoder is None:
        encoder = runtime.build(lambda: build_encoder(model_config))
    else:
        # Fine-tuning: every fold starts from a copy of the same trained
        # encoder; a checkpoint restored below still takes precedence.
        encoder = runtime.place(initial_encoder)
    optimizer = runtime.build_optimizer(
        lambda: keras.optimizers.Adam(learning_rate, beta_1=training_config.beta_1),
        encoder.trainable_variables,
    )
    fold_dir = os.path.join(checkpoint_dir, run_name)
    state = runtime.checkpoint(fold_dir, encoder=encoder, optimizer=optimizer)
    fold_logdir = runtime.logdir(os.path.join(logdir, run_name) if logdir else None)
    writer = summary_writer(fold_logdir)

    def measure_validation() -> dict[str, float]:
        measured = measure_egan(
            generator, encoder, fold_validation, classifier, input_blur
        )
        accuracy = measured.defended_accuracy
        return {
            "mse": measured.reconstruction_mse,
            # -1 never equals a label: no classifier, accuracy 0, as before.
            "accuracy": 0.0 if accuracy is None else accuracy,
        }

    grid_inputs = to_unit_interval(fold_validation.images[:_RECONSTRUCTION_GRID_SIZE])
    if input_blur is not None:
        grid_inputs, _, _ = blur_randomly(
            grid_inputs, input_blur, tf.constant(VALIDATION_BLUR_SEED, tf.int64)
        )

    def validate(epoch: int) -> dict[str, float]:
        measured = measure_validation()
        del epoch
        return {"val_mse": measured["mse"], "val_accuracy": measured["accuracy"]}

    def write_reconstructions(step: int) -> None:
        reconstructions = generator(
            encoder(grid_inputs, training=False), training=False
        )
        with writer.as_default():
            tf.summary.image(
                "encoder/reconstructions",
                image_grid(side_by_side(grid_inputs, reconstructions), columns=8),
                step=step,
            )

    loop = EpochLoop(
        stage="encoder",
        state=state,
        arrays=fold_train,
        config=training_config,
        train_step=make_encoder_train_step(
            encoder, generator, classifier, optimizer, loss_config, input_blur
        ),
        runtime=runtime,
        writer=writer,
        image_hook=write_reconstructions if writer is not None else None,
        epoch_hook=validate,
        show_progress=show_progress,
    )
    history = loop.run()
    final = measure_validation()
    record = {
        "fold": fold,
        "train_examples": len(fold_train),
        "validation_examples": len(fold_validation),
        "val_mse": final["mse"],
        "val_accuracy": final["accuracy"],
        "history": history,
        "wall_seconds": round(state.update_elapsed(), 1),
    }
    return encoder, record
