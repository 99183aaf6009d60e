"""Stage 1 of the EGAN: adversarial training of the generator G and discriminator D."""

from __future__ import annotations

import dataclasses
import os

import keras
import tensorflow as tf

from egan_tf import losses
from egan_tf.config import EganConfig, TrainingConfig, config_to_dict
from egan_tf.data import ImageArrays, dataset_of
from egan_tf.defaults import PAPER_GAN_TRAINING
from egan_tf.execution import ExecutionConfig
from egan_tf.model_io import DISCRIMINATOR_FILE, GENERATOR_FILE, save_model_atomically
from egan_tf.networks import build_discriminator, build_generator
from egan_tf.training.loop import EpochLoop, fixed_noise, record_run_configs
from egan_tf.training.runtime import Runtime, global_mean
from egan_tf.training.summaries import image_grid

# One-sided label smoothing keeps D from growing over-confident on real digits.
REAL_LABEL = 0.9
_SAMPLE_GRID_SIZE = 64


def make_gan_train_step(
    generator: keras.Model,
    discriminator: keras.Model,
    generator_optimizer: keras.optimizers.Optimizer,
    discriminator_optimizer: keras.optimizers.Optimizer,
    real_label: float = REAL_LABEL,
):
    """Returns the GAN's replica step (`runtime.ReplicaStep`), two gradient
    tapes.

    The step takes a replica's real images float32 [n, 28, 28, 1] in [0, 1],
    labels (ignored), its stateless seed int64 [2] and the global batch size;
    it draws n latent vectors from N(0, 1), so any batch size works, the last
    partial batch included. It returns its shares of the global batch's
    `d_loss`, `g_loss`, `d_real` and `d_fake` (D's mean probability of "real"
    on real and on generated images).
    """
    latent_dim = generator.input_shape[-1]

    def train_step(real_images, labels, seed, global_batch_size):
        del labels
        batch_size = tf.shape(real_images)[0]
        latents = tf.random.stateless_normal([batch_size, latent_dim], seed=seed)
        with (
            tf.GradientTape() as generator_tape,
            tf.GradientTape() as discriminator_tape,
        ):
            fake_images = generator(latents, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            d_loss = tf.nn.compute_average_loss(
                losses.discriminator_loss(real_logits, fake_logits, real_label),
                global_batch_size=global_batch_size,
            )
            g_loss = tf.nn.compute_average_loss(
                losses.generator_loss(fake_logits),
                global_batch_size=global_batch_size,
            )
        discriminator_optimizer.apply_gradients(
            zip(
                discriminator_tape.gradient(d_loss, discriminator.trainable_variables),
                discriminator.trainable_variables,
                strict=False,
            )
        )
        generator_optimizer.apply_gradients(
            zip(
                generator_tape.gradient(g_loss, generator.trainable_variables),
                generator.trainable_variables,
                strict=False,
            )
        )
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real": global_mean(tf.sigmoid(real_logits[:, 0]), global_batch_size),
            "d_fake": global_mean(tf.sigmoid(fake_logits[:, 0]), global_batch_size),
        }

    return train_step


@dataclasses.dataclass(frozen=True)
class GanResult:
    """What a GAN training run produced.

    Attributes:
        generator: The trained G.
        discriminator: The trained D.
        history: Metrics of every epoch of the run, earlier processes included.
        epochs_done: Epochs finished in total, across resumptions.
        wall_seconds: Wall time of the whole run, summed over resumptions.
    """

    generator: keras.Model
    discriminator: keras.Model
    history: list[dict[str, float]]
    epochs_done: int
    wall_seconds: float


def train_gan(
    model_config: EganConfig,
    training_config: TrainingConfig,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> GanResult:
    """Trains G and D, resuming from `checkpoint_dir` when it holds a checkpoint.

    Args:
        model_config: Network sizes.
        training_config: Epochs, batch size, optimiser settings and seed.
        train_arrays: Training images (labels are not used).
        checkpoint_dir: Checkpoints and the resolved config go here.
        logdir: TensorBoard folder (scalars `gan/*`, image `gan/samples`).
        show_progress: Whether to draw progress bars.
        runtime: Strategy, precision and XLA; one device in float32 if None.
    """
    runtime = runtime or Runtime.create()
    keras.utils.set_random_seed(training_config.seed)
    generator = runtime.build(lambda: build_generator(model_config))
    discriminator = runtime.build(lambda: build_discriminator(model_config))

    def adam():
        return keras.optimizers.Adam(
            training_config.learning_rate, beta_1=training_config.beta_1
        )

    generator_optimizer = runtime.build_optimizer(adam, generator.trainable_variables)
    discriminator_optimizer = runtime.build_optimizer(
        adam, discriminator.trainable_variables
    )
    state = runtime.checkpoint(
        checkpoint_dir,
        generator=generator,
        discriminator=discriminator,
        generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
    )
    writer = record_run_configs(
        checkpoint_dir,
        logdir,
        {"model": model_config, "training": training_config},
        runtime,
        train_arrays,
    )
    noise = fixed_noise(
        _SAMPLE_GRID_SIZE, model_config.latent_dim, training_config.seed
    )

    def write_samples(step: int) -> None:
        samples = generator(noise, training=False)
        with writer.as_default():
            tf.summary.image("gan/samples", image_grid(samples), step=step)

    loop = EpochLoop(
        stage="gan",
        state=state,
        arrays=train_arrays,
        config=training_config,
        train_step=make_gan_train_step(
            generator, discriminator, generator_optimizer, discriminator_optimizer
        ),
        runtime=runtime,
        writer=writer,
        image_hook=write_samples if writer is not None else None,
        show_progress=show_progress,
    )
    history = loop.run()
    if writer is not None:
        write_samples(int(state.step.numpy()))
    return GanResult(
        generator=generator,
        discriminator=discriminator,
        history=history,
        epochs_done=int(state.epoch.numpy()),
        wall_seconds=state.update_elapsed(),
    )


def save_gan(result: GanResult, output_dir: str) -> None:
    """Writes G and D into `output_dir` atomically."""
    save_model_atomically(result.generator, os.path.join(output_dir, GENERATOR_FILE))
    save_model_atomically(
        result.discriminator, os.path.join(output_dir, DISCRIMINATOR_FILE)
    )


def gan_card(
    result: GanResult,
    model_config: EganConfig,
    training_config: TrainingConfig,
    execution: ExecutionConfig,
    dataset: str,
) -> dict:
    """The JSON record of how G and D were trained on `dataset`."""
    final = result.history[-1] if result.history else {}
    return {
        "stage": "gan",
        "dataset": dataset,
        "model": dataclasses.asdict(model_config),
        "training": dataclasses.asdict(training_config),
        "execution": config_to_dict(execution),
        "schedule_run": {
            "epochs": result.epochs_done,
            "batch_size": training_config.batch_size,
            "paper_epochs": PAPER_GAN_TRAINING.epochs,
            "paper_batch_size": PAPER_GAN_TRAINING.batch_size,
        },
        "wall_seconds": round(result.wall_seconds, 1),
        "final_epoch_metrics": final,
        "generator_parameters": int(result.generator.count_params()),
        "discriminator_parameters": int(result.discriminator.count_params()),
    }


def train_and_save_gan(
    model_config: EganConfig,
    training_config: TrainingConfig,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    output_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> dict:
    """Trains G and D (resuming when possible) and ships them with a model
    card (the chief only, under a multi-worker strategy).

    Returns:
        The model card written as `gan.json` beside the models.
    """
    from egan_tf.model_io import write_model_card

    runtime = runtime or Runtime.create()
    result = train_gan(
        model_config,
        training_config,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        runtime,
    )
    card = gan_card(
        result, model_config, training_config, runtime.config, dataset_of(train_arrays)
    )
    if not runtime.is_chief:
        return card
    save_gan(result, output_dir)
    write_model_card(os.path.join(output_dir, "gan.json"), card)
    return card
