"""Training of the blur estimator B on randomly blurred training images."""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from egan_tf import losses
from egan_tf.batching import run_batched
from egan_tf.blur_sampling import blur_randomly
from egan_tf.config import (
    IMAGE_SHAPE,
    BlurEstimatorConfig,
    BlurSamplingConfig,
    TrainingConfig,
    config_to_dict,
)
from egan_tf.data import ImageArrays, dataset_of, to_unit_interval
from egan_tf.metrics import angle_difference_degrees
from egan_tf.model_io import (
    BLUR_ESTIMATOR_FILE,
    save_model_atomically,
    write_model_card,
)
from egan_tf.networks import build_blur_estimator
from egan_tf.training.loop import EpochLoop, record_run_configs
from egan_tf.training.runtime import Runtime, global_mean

_VALIDATION_BLUR_SEED = (7, 29)
_VALIDATION_BATCH_SIZE = 1000


def make_blur_estimator_train_step(
    estimator: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    blur: BlurSamplingConfig,
):
    """Returns B's replica step (`runtime.ReplicaStep`).

    The step takes a replica's sharp images float32 [n, 28, 28, 1] in [0, 1],
    labels int64 [n] (unused), its stateless seed int64 [2] and the global
    batch size; it blurs each image by a random setting from `blur` and
    teaches B to read that setting back. It returns its shares of the global
    batch's `loss` and `length_mae`.
    """

    def train_step(images, labels, seed, global_batch_size):
        del labels
        blurred, length, angle = blur_randomly(images, blur, seed)
        with tf.GradientTape() as tape:
            predicted = estimator(blurred, training=True)
            loss = tf.nn.compute_average_loss(
                losses.blur_estimation_loss(predicted, length, angle, blur.max_length),
                global_batch_size=global_batch_size,
            )
        gradients = tape.gradient(loss, estimator.trainable_variables)
        optimizer.apply_gradients(
            zip(gradients, estimator.trainable_variables, strict=True)
        )
        return {
            "loss": loss,
            "length_mae": global_mean(
                tf.abs(predicted[:, 0] - length), global_batch_size
            ),
        }

    return train_step


def angle_error_degrees(
    predicted_direction: np.ndarray, angle_degrees: np.ndarray
) -> np.ndarray:
    """Absolute angular difference in degrees, in [0, 180].

    Args:
        predicted_direction: float [N, 2], vectors (cos θ, sin θ), any length.
        angle_degrees: float [N], the true θ.
    """
    predicted = np.degrees(
        np.arctan2(predicted_direction[:, 1], predicted_direction[:, 0])
    )
    return angle_difference_degrees(predicted, angle_degrees)


def measure_blur_estimator(
    estimator: keras.Model, arrays: ImageArrays, blur: BlurSamplingConfig
) -> dict[str, float]:
    """Errors of B on `arrays` blurred by a fixed draw from `blur`.

    Returns:
        `length_mae` (in l), `angle_mae_degrees` over the examples with
        l ≥ 0.05 (shorter blurs barely have a direction), and `examples`.
    """

    @tf.function(
        input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8)], autograph=False
    )
    def estimate(images):
        blurred, length, angle = blur_randomly(
            to_unit_interval(images),
            blur,
            tf.constant(_VALIDATION_BLUR_SEED, tf.int64),
        )
        return estimator(blurred, training=False), length, angle

    predicted, lengths, angles = run_batched(
        estimate, arrays.images, _VALIDATION_BATCH_SIZE
    )
    visible = lengths >= 0.05
    return {
        "examples": len(arrays),
        "length_mae": float(np.mean(np.abs(predicted[:, 0] - lengths))),
        "angle_mae_degrees": float(
            np.mean(angle_error_degrees(predicted[visible, 1:], angles[visible]))
        ),
    }


@dataclasses.dataclass(frozen=True)
class BlurEstimatorResult:
    estimator: keras.Model
    history: list[dict[str, float]]
    wall_seconds: float


def train_blur_estimator(
    model_config: BlurEstimatorConfig,
    training_config: TrainingConfig,
    blur: BlurSamplingConfig,
    train_arrays: ImageArrays,
    validation_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> BlurEstimatorResult:
    """Trains B with Adam, resuming from `checkpoint_dir` when possible.

    After every epoch B is measured on `validation_arrays` blurred by a fixed
    draw, and the errors go to TensorBoard as `blur_estimator/val_*`. Runs
    under `runtime` (one device in float32 if None).
    """
    runtime = runtime or Runtime.create()
    keras.utils.set_random_seed(training_config.seed)
    estimator = runtime.build(lambda: build_blur_estimator(model_config))
    optimizer = runtime.build_optimizer(
        lambda: keras.optimizers.Adam(
            training_config.learning_rate, beta_1=training_config.beta_1
        ),
        estimator.trainable_variables,
    )
    state = runtime.checkpoint(checkpoint_dir, estimator=estimator, optimizer=optimizer)
    writer = record_run_configs(
        checkpoint_dir,
        logdir,
        {"model": model_config, "training": training_config, "blur": blur},
        runtime,
        train_arrays,
    )

    def validate(epoch: int) -> dict[str, float]:
        del epoch
        measured = measure_blur_estimator(estimator, validation_arrays, blur)
        return {
            "val_length_mae": measured["length_mae"],
            "val_angle_mae_degrees": measured["angle_mae_degrees"],
        }

    loop = EpochLoop(
        stage="blur_estimator",
        state=state,
        arrays=train_arrays,
        config=training_config,
        train_step=make_blur_estimator_train_step(estimator, optimizer, blur),
        runtime=runtime,
        writer=writer,
        epoch_hook=validate,
        show_progress=show_progress,
    )
    history = loop.run()
    return BlurEstimatorResult(estimator, history, state.update_elapsed())


def train_and_save_blur_estimator(
    model_config: BlurEstimatorConfig,
    training_config: TrainingConfig,
    blur: BlurSamplingConfig,
    train_arrays: ImageArrays,
    test_arrays: ImageArrays,
    checkpoint_dir: str,
    output_dir: str,
    logdir: str | None = None,
    validation_examples: int = 5000,
    show_progress: bool = True,
    runtime: Runtime | None = None,
) -> dict:
    """Trains B on all but the last `validation_examples` training images,
    measures it on the test set (blurred by a fixed draw) and writes
    `blur_estimator.keras` and `blur_estimator.json` into `output_dir`.

    Under a multi-worker strategy only the chief writes them.

    Returns:
        The model card.
    """
    runtime = runtime or Runtime.create()
    split = len(train_arrays) - validation_examples
    if split <= 0:
        raise ValueError(
            "validation_examples must leave training examples. Received: "
            f"validation_examples={validation_examples}, examples={len(train_arrays)}"
        )
    fit = train_arrays.select(slice(0, split))
    held_out = train_arrays.select(slice(split, None))
    result = train_blur_estimator(
        model_config,
        training_config,
        blur,
        fit,
        held_out,
        checkpoint_dir,
        logdir,
        show_progress,
        runtime,
    )
    card = {
        "stage": "blur_estimator",
        "dataset": dataset_of(train_arrays),
        "model": config_to_dict(model_config),
        "training": config_to_dict(training_config),
        "blur": config_to_dict(blur),
        "execution": config_to_dict(runtime.config),
        "train_examples": len(fit),
        "validation_examples": len(held_out),
        "wall_seconds": round(result.wall_seconds, 1),
        "final_epoch_metrics": result.history[-1] if result.history else {},
        "test_random_blur": measure_blur_estimator(result.estimator, test_arrays, blur),
        "parameters": int(result.estimator.count_params()),
    }
    if not runtime.is_chief:
        return card
    save_model_atomically(
        result.estimator, os.path.join(output_dir, BLUR_ESTIMATOR_FILE)
    )
    write_model_card(os.path.join(output_dir, "blur_estimator.json"), card)
    return card
