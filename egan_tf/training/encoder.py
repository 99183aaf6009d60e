"""Stage 2 of the EGAN: the encoder E, trained with G frozen so that G(E(x)) ≈ x.

The paper trains E with 5-fold cross-validation, 20 epochs a fold, validating
at the end of every epoch, and keeps the encoder with the lowest
reconstruction error. Here "best" means the fold whose final-epoch encoder has
the lowest mean squared pixel error between x and G(E(x)) on its own
validation fold.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time

import keras
import tensorflow as tf

from egan_tf import losses
from egan_tf.atomic_files import write_json_atomically
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
from egan_tf.errors import FolderInUseError
from egan_tf.evaluation import VALIDATION_BLUR_SEED, measure_egan
from egan_tf.execution import StrategyKind
from egan_tf.folder_lock import FolderLock
from egan_tf.model_io import load_model, save_model_atomically
from egan_tf.networks import build_encoder
from egan_tf.splits import kfold_indices, num_batches
from egan_tf.training.loop import (
    EpochLoop,
    record_run_configs,
    summary_writer,
)
from egan_tf.training.runtime import Runtime, global_mean
from egan_tf.training.stages import (
    FOLD_METRICS_FILE,
    fold_encoder_path,
    read_fold_records,
)
from egan_tf.training.summaries import image_grid, side_by_side

# The lock a process holds on a fold while it trains it, and the one taken
# for the moment of adding a fold's record, in the run's checkpoint folder.
FOLD_CLAIM_FILE = ".fold_{fold}.lock"
_RECORDS_LOCK_FILE = ".fold_metrics.lock"
# Settling's checkpoints, its record and its encoder, in the run's checkpoint
# folder.
SETTLING_DIR = "settling"
SETTLING_RECORD_FILE = "settling.json"
SETTLED_ENCODER_FILE = "settled.keras"
# How often a run waiting for another process's folds looks again, seconds.
_WAIT_SECONDS = 5
_RECONSTRUCTION_GRID_SIZE = 16

logger = logging.getLogger(__name__)


def make_encoder_train_step(
    encoder: keras.Model,
    generator: keras.Model,
    classifier: keras.Model | None,
    optimizer: keras.optimizers.Optimizer,
    loss_config: EncoderLossConfig,
    input_blur: BlurSamplingConfig | None = None,
):
    """Returns the encoder's replica step (`runtime.ReplicaStep`); G and C
    stay frozen.

    The step takes a replica's images float32 [n, 28, 28, 1] in [0, 1],
    labels int64 [n] (unused: the loss needs no labels), its stateless seed
    int64 [2] for the sampled latents of the cycle term and the sampled blur,
    and the global batch size. It returns its shares of the global batch's
    `loss`, `pixel_mse` and, when their weights are non-zero, `latent_cycle`
    and `classifier_kl`.

    With `input_blur`, E sees each image blurred by a random setting while
    every loss term still compares with the sharp image: G(E(blur(x))) is
    pulled towards x, and C(G(E(blur(x)))) towards C(x).
    """
    if loss_config.classifier_weight > 0 and classifier is None:
        raise ValueError(
            "A classifier is needed for classifier_weight > 0. "
            f"Received: classifier_weight={loss_config.classifier_weight}"
        )
    latent_dim = generator.input_shape[-1]

    def train_step(images, labels, seed, global_batch_size):
        del labels
        metrics = {}
        blur_seed, latent_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, num=2)
        )
        inputs = images
        if input_blur is not None:
            inputs, _, _ = blur_randomly(images, input_blur, blur_seed)
        with tf.GradientTape() as tape:
            reconstructions = generator(encoder(inputs, training=True), training=False)
            pixel = losses.reconstruction_loss(images, reconstructions)
            per_example = loss_config.pixel_weight * pixel
            metrics["pixel_mse"] = global_mean(pixel, global_batch_size)
            if loss_config.latent_cycle_weight > 0:
                latents = tf.random.stateless_normal(
                    [tf.shape(images)[0], latent_dim], seed=latent_seed
                )
                reencoded = encoder(generator(latents, training=False), training=True)
                cycle = losses.latent_cycle_loss(latents, reencoded)
                per_example += loss_config.latent_cycle_weight * cycle
                metrics["latent_cycle"] = global_mean(cycle, global_batch_size)
            if loss_config.classifier_weight > 0:
                divergence = losses.classifier_consistency_loss(
                    classifier(images, training=False),
                    classifier(reconstructions, training=False),
                    loss_config.classifier_temperature,
                )
                per_example += loss_config.classifier_weight * divergence
                metrics["classifier_kl"] = global_mean(divergence, global_batch_size)
            loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=global_batch_size
            )
        gradients = tape.gradient(loss, encoder.trainable_variables)
        optimizer.apply_gradients(
            zip(gradients, encoder.trainable_variables, strict=True)
        )
        return {"loss": loss, **metrics}

    return train_step


def settling_schedule(
    settling: SettlingConfig, steps_per_epoch: int
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Settling's step size: `settling.learning_rate` at the first step,
    decayed along a cosine to zero after its last (`settling.epochs` epochs
    of `steps_per_epoch` steps). A function of the optimizer's step count,
    which the checkpoint holds, so a resumed run goes on at the same step."""
    return keras.optimizers.schedules.CosineDecay(
        settling.learning_rate, decay_steps=settling.epochs * steps_per_epoch
    )


@dataclasses.dataclass(frozen=True)
class EncoderResult:
    """What an encoder cross-validation run produced.

    Attributes:
        encoder: The kept encoder (lowest final validation MSE over folds).
        best_fold: Index of that fold.
        folds: One record per trained fold: its final validation MSE and
            accuracy, its per-epoch history and its wall time.
        wall_seconds: Wall time of all folds and of settling, summed over
            resumptions.
        settling: The settling's record (its per-epoch history and final
            validation), or None when the run does not settle.
    """

    encoder: keras.Model
    best_fold: int
    folds: list[dict]
    wall_seconds: float
    settling: dict | None = None


def _place_frozen(
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


def _add_fold_record(records_path: str, record: dict) -> None:
    """Adds one fold's record to the records file. Several processes may
    train folds of one run, so the file is re-read and rewritten under a
    lock rather than rewritten from what this process remembers."""
    folder = os.path.dirname(records_path)
    with FolderLock(folder, _RECORDS_LOCK_FILE, wait=True):
        records = read_fold_records(folder)
        records[str(record["fold"])] = record
        write_json_atomically(records_path, records)


def _claim_fold(
    folds: list[int], checkpoint_dir: str, runtime: Runtime
) -> tuple[int, FolderLock | None] | None:
    """The first of `folds` no other process is training, with its claim
    (held until the fold's record is written), or None if others train them
    all.

    Under a multi-worker strategy every worker trains the same fold at the
    same time, so nothing is claimed."""
    if runtime.config.strategy == StrategyKind.MULTIWORKER:
        return folds[0], None
    for fold in folds:
        try:
            return fold, FolderLock(checkpoint_dir, FOLD_CLAIM_FILE.format(fold=fold))
        except FolderInUseError:
            continue
    return None


def _train_fold(
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


def train_encoder_folds(
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    initial_encoder: keras.Model | None = None,
    runtime: Runtime | None = None,
    wait_for_others: bool = True,
) -> tuple[dict[str, dict], dict[int, str]]:
    """Trains the folds of `run` that are neither finished nor being trained
    by another process; resumable, and shareable between processes.

    Each finished fold leaves `fold_K.keras` and its record in
    `fold_metrics.json` under `checkpoint_dir`; a rerun skips finished folds
    and resumes an unfinished one from its checkpoint. Folds are independent,
    so a second process running this on the same folder trains other folds
    at the same time: each process claims a fold (a lock in `checkpoint_dir`
    that the kernel drops when its process ends) before training it.

    Args:
        run: The configs of the run.
        generator: The trained G; frozen.
        classifier: The trained C, frozen; needed for the classifier term and
            for the validation accuracy.
        train_arrays: The examples to split into folds.
        checkpoint_dir: Checkpoints, fold encoders and fold records.
        logdir: TensorBoard folder; one sub-folder per fold.
        show_progress: Whether to draw progress bars.
        initial_encoder: Start every fold from this encoder's weights
            (fine-tuning) instead of a fresh initialisation.
        runtime: Strategy, precision and XLA; one device in float32 if None.
            Under a multi-worker strategy only the chief writes; the others
            read the chief's records to resume.
        wait_for_others: When the folds left are all being trained by other
            processes, wait for them (and train any whose process ends
            without finishing it); if False, return.

    Returns:
        The record of every finished fold, keyed by the fold's index as a
        string, and where this process wrote each fold encoder it trained.

    Raises:
        ValueError: If the latent sizes of `model_config` and G differ.
    """
    if generator.input_shape[-1] != run.model.latent_dim:
        raise ValueError(
            "The generator's latent size differs from the config. Received: "
            f"latent_dim={run.model.latent_dim}, generator input "
            f"{generator.input_shape[-1]}"
        )
    runtime = runtime or Runtime.create()
    record_run_configs(checkpoint_dir, logdir, run.configs, runtime, train_arrays)
    generator, classifier = _place_frozen(runtime, generator, classifier)
    cv_config = run.cross_validation
    folds = range(cv_config.trained_folds)
    # Where this process wrote each fold's encoder (a temporary folder on a
    # worker other than the chief), and the records it wrote.
    written, own_records = {}, {}
    records_path = runtime.writable(os.path.join(checkpoint_dir, FOLD_METRICS_FILE))
    waiting_for = None
    while True:
        records = {**read_fold_records(checkpoint_dir), **own_records}
        left = [
            fold
            for fold in folds
            if str(fold) not in records
            or not (
                fold in written
                or os.path.isfile(fold_encoder_path(checkpoint_dir, fold))
            )
        ]
        if not left:
            return records, written
        claimed = _claim_fold(left, checkpoint_dir, runtime)
        if claimed is None:
            if not wait_for_others:
                return records, written
            if waiting_for != left:
                waiting_for = left
                # A warning, so that it shows without any logging set up:
                # the process looks idle while it waits.
                logger.warning(
                    "Waiting for fold(s) %s, trained by another process.",
                    ", ".join(map(str, left)),
                )
            time.sleep(_WAIT_SECONDS)
            continue
        fold, claim = claimed
        if claim is not None and str(fold) in read_fold_records(checkpoint_dir):
            # Another process finished the fold between the look and the claim.
            claim.release()
            continue
        try:
            encoder, record = _train_fold(
                fold,
                run,
                generator,
                classifier,
                train_arrays,
                checkpoint_dir,
                logdir,
                show_progress,
                runtime,
                initial_encoder,
            )
            written[fold] = runtime.writable(fold_encoder_path(checkpoint_dir, fold))
            save_model_atomically(encoder, written[fold])
            _add_fold_record(records_path, record)
            own_records[str(fold)] = record
        finally:
            if claim is not None:
                claim.release()


def train_encoder(
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    initial_encoder: keras.Model | None = None,
    runtime: Runtime | None = None,
) -> EncoderResult:
    """Trains E by k-fold cross-validation with G (and C) frozen, keeps the
    best fold's encoder and, when `run.settling` is set, settles it;
    resumable.

    The folds are trained by `train_encoder_folds` (see there for the
    arguments); folds another process trains on the same `checkpoint_dir`
    are waited for. Settling runs in this process once every fold is done.

    Raises:
        ValueError: If the latent sizes of `model_config` and G differ.
    """
    runtime = runtime or Runtime.create()
    fold_records, written = train_encoder_folds(
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        initial_encoder,
        runtime,
    )
    folds = [fold_records[key] for key in sorted(fold_records, key=int)]
    best = min(folds, key=lambda record: record["val_mse"])
    encoder = load_model(
        written.get(
            best["fold"],
            fold_encoder_path(checkpoint_dir, best["fold"]),
        )
    )
    wall_seconds = sum(record["wall_seconds"] for record in folds)
    settling = None
    if run.settling is not None:
        encoder, settling = settle_encoder(
            encoder,
            best["fold"],
            run,
            generator,
            classifier,
            train_arrays,
            checkpoint_dir,
            logdir,
            show_progress,
            runtime,
        )
        wall_seconds += settling["wall_seconds"]
    return EncoderResult(
        encoder=encoder,
        best_fold=best["fold"],
        folds=folds,
        wall_seconds=wall_seconds,
        settling=settling,
    )


def settle_encoder(
    encoder: keras.Model,
    fold: int,
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None,
    show_progress: bool,
    runtime: Runtime,
) -> tuple[keras.Model, dict]:
    """Settles the kept fold's `encoder` on its fold `fold` of `run`
    (`run.settling`), or reads back a settling a previous run in
    `checkpoint_dir` finished; resumable.

    Returns:
        The settled encoder and the settling's record: the fold, its split's
        sizes, the per-epoch validation history, the final validation MSE and
        accuracy, and the wall time.
    """
    encoder_path = os.path.join(checkpoint_dir, SETTLED_ENCODER_FILE)
    record_path = os.path.join(checkpoint_dir, SETTLING_RECORD_FILE)
    # The record is written last, so its presence means the encoder is whole.
    if os.path.isfile(record_path) and os.path.isfile(encoder_path):
        with open(record_path, encoding="utf-8") as handle:
            return load_model(encoder_path), json.load(handle)
    generator, classifier = _place_frozen(runtime, generator, classifier)
    settled, record = _train_fold(
        fold,
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        runtime,
        initial_encoder=encoder,
        settling=True,
    )
    save_model_atomically(settled, runtime.writable(encoder_path))
    write_json_atomically(runtime.writable(record_path), record)
    return settled, record
