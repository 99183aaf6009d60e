"""Training of the classifier C by a custom tf.function loop."""

from __future__ import annotations

import dataclasses
import os

import keras
import tensorflow as tf

from egan_tf import losses
from egan_tf.blur_sampling import blur_from_mixture, blur_randomly
from egan_tf.config import (
    BlurMixtureConfig,
    BlurSamplingConfig,
    ClassifierConfig,
    TrainingConfig,
    config_to_dict,
)
from egan_tf.data import ImageArrays, dataset_of
from egan_tf.model_io import (
    AUGMENTED_CLASSIFIER_FILE,
    CLASSIFIER_FILE,
    MIXTURE_CLASSIFIER_FILE,
    save_model_atomically,
)
from egan_tf.networks import build_classifier
from egan_tf.splits import num_batches
from egan_tf.training.loop import EpochLoop, record_run_configs
from egan_tf.training.runtime import Runtime, global_mean


def make_classifier_train_step(
    classifier: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    augmentation: BlurSamplingConfig | BlurMixtureConfig | None = None,
):
    """Returns the classifier's replica step (`runtime.ReplicaStep`).

    The step takes a replica's images float32 [n, 28, 28, 1] in [0, 1],
    labels int64 [n], a stateless seed int64 [2] (for the blur augmentation;
    dropout draws from Keras' seeded generator) and the global batch size,
    and returns its shares of the global batch's `loss` and `accuracy`.

    With `augmentation`, each image is blurred by its own random setting
    before C sees it: the baseline a practitioner tries before any GAN. A
    `BlurSamplingConfig` draws the paper's Fourier blur; a `BlurMixtureConfig`
    draws the Fourier blur or camera shake, then sensor noise.
    """

    def train_step(images, labels, seed, global_batch_size):
        if isinstance(augmentation, BlurMixtureConfig):
            images = blur_from_mixture(images, augmentation, seed)
        elif augmentation is not None:
            images, _, _ = blur_randomly(images, augmentation, seed)
        with tf.GradientTape() as tape:
            logits = classifier(images, training=True)
            loss = tf.nn.compute_average_loss(
                losses.classification_loss(labels, logits),
                global_batch_size=global_batch_size,
            )
        gradients = tape.gradient(loss, classifier.trainable_variables)
        optimizer.apply_gradients(
            zip(gradients, classifier.trainable_variables, strict=True)
        )
        correct = tf.equal(tf.argmax(logits, axis=-1), labels)
        return {
            "loss": loss,
            "accuracy": global_mean(tf.cast(correct, tf.float32), global_batch_size),
        }

    return train_step


@dataclasses.dataclass(frozen=True)
class ClassifierResult:
    """What a classifier training run produced.

    Attributes:
        classifier: The trained C.
        history: Metrics of every epoch of the run, earlier processes included.
        epochs_done: Epochs finished in total, across resumptions.
        wall_seconds: Wall time of the whole run, summed over resumptions.
    """

    classifier: keras.Model
    history: list[dict[str, float]]
    epochs_done: int
    wall_seconds: float


def train_classifier(
    model_config: ClassifierConfig,
    training_config: TrainingConfig,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    monitor_arrays: ImageArrays | None = None,
    show_progress: bool = True,
    augmentation: BlurSamplingConfig | BlurMixtureConfig | None = None,
    runtime: Runtime | None = None,
) -> ClassifierResult:
    """Trains C with Adam and a cosine learning-rate decay, resuming when possible.

    Args:
        model_config: Network size.
        training_config: Epochs, batch size, learning rate and seed.
        train_arrays: Training examples.
        checkpoint_dir: Checkpoints and the resolved config go here.
        logdir: TensorBoard folder (scalars `classifier/*`).
        monitor_arrays: Examples whose accuracy is logged after every epoch, for
            monitoring only: no model selection is made on them.
        show_progress: Whether to draw progress bars.
        augmentation: Random blur applied to every training batch, or None.
        runtime: Strategy, precision and XLA; one device in float32 if None.
    """
    from egan_tf.evaluation import accuracy_of

    runtime = runtime or Runtime.create()
    keras.utils.set_random_seed(training_config.seed)
    classifier = runtime.build(lambda: build_classifier(model_config))
    total_steps = training_config.epochs * num_batches(
        len(train_arrays), training_config.batch_size
    )
    schedule = keras.optimizers.schedules.CosineDecay(
        training_config.learning_rate, decay_steps=max(total_steps, 1)
    )
    optimizer = runtime.build_optimizer(
        lambda: keras.optimizers.Adam(schedule, beta_1=training_config.beta_1),
        classifier.trainable_variables,
    )
    state = runtime.checkpoint(
        checkpoint_dir,
        classifier=classifier,
        optimizer=optimizer,
    )
    configs = {"model": model_config, "training": training_config}
    if augmentation is not None:
        configs["augmentation"] = augmentation
    # The cosine decay spans all epochs, so their number is fixed for a run.
    writer = record_run_configs(
        checkpoint_dir,
        logdir,
        configs,
        runtime,
        train_arrays,
        epochs_set_schedule=True,
    )

    def monitor(epoch: int) -> dict[str, float]:
        del epoch
        if monitor_arrays is None:
            return {}
        return {"monitor_accuracy": accuracy_of(classifier, monitor_arrays)}

    loop = EpochLoop(
        stage="classifier",
        state=state,
        arrays=train_arrays,
        config=training_config,
        train_step=make_classifier_train_step(classifier, optimizer, augmentation),
        runtime=runtime,
        writer=writer,
        epoch_hook=monitor,
        show_progress=show_progress,
    )
    history = loop.run()
    return ClassifierResult(
        classifier=classifier,
        history=history,
        epochs_done=int(state.epoch.numpy()),
        wall_seconds=state.update_elapsed(),
    )


def save_classifier(
    result: ClassifierResult, output_dir: str, file_name: str = CLASSIFIER_FILE
) -> str:
    """Writes C into `output_dir` atomically; returns the file path."""
    path = os.path.join(output_dir, file_name)
    save_model_atomically(result.classifier, path)
    return path


def train_and_save_classifier(
    model_config: ClassifierConfig,
    training_config: TrainingConfig,
    train_arrays: ImageArrays,
    test_arrays: ImageArrays,
    checkpoint_dir: str,
    output_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    augmentation: BlurSamplingConfig | BlurMixtureConfig | None = None,
    runtime: Runtime | None = None,
) -> dict:
    """Trains C, measures it on the test set and ships it with its model card
    (the chief only, under a multi-worker strategy).

    Returns:
        The model card, written as `classifier.json` beside `classifier.keras`
        (with a `BlurSamplingConfig`: `classifier_augment.*`; with a
        `BlurMixtureConfig`: `classifier_mixture.*`).
    """
    from egan_tf.evaluation import accuracy_of
    from egan_tf.model_io import write_model_card

    runtime = runtime or Runtime.create()
    result = train_classifier(
        model_config,
        training_config,
        train_arrays,
        checkpoint_dir,
        logdir,
        monitor_arrays=test_arrays,
        show_progress=show_progress,
        augmentation=augmentation,
        runtime=runtime,
    )
    file_name = {
        type(None): CLASSIFIER_FILE,
        BlurSamplingConfig: AUGMENTED_CLASSIFIER_FILE,
        BlurMixtureConfig: MIXTURE_CLASSIFIER_FILE,
    }[type(augmentation)]
    card = {
        "stage": file_name[: -len(".keras")],
        "dataset": dataset_of(train_arrays),
        "model": dataclasses.asdict(model_config),
        "training": dataclasses.asdict(training_config),
        "augmentation": None
        if augmentation is None
        else dataclasses.asdict(augmentation),
        "execution": config_to_dict(runtime.config),
        "train_examples": len(train_arrays),
        "epochs_run": result.epochs_done,
        "wall_seconds": round(result.wall_seconds, 1),
        "final_epoch_metrics": result.history[-1] if result.history else {},
        "test_examples": len(test_arrays),
        "test_accuracy": accuracy_of(result.classifier, test_arrays),
        "parameters": int(result.classifier.count_params()),
        "note": "The test set was monitored each epoch; the last epoch is kept, "
        "no model selection was made on it.",
    }
    if not runtime.is_chief:
        return card
    save_classifier(result, output_dir, file_name)
    stem = file_name[: -len(".keras")]
    write_model_card(os.path.join(output_dir, f"{stem}.json"), card)
    return card
