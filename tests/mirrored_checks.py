"""Runs the MirroredStrategy checks on a CPU split into two logical devices
and prints their measurements as one JSON line (tests/test_distribution.py
asserts on them). The split must happen before any op, hence a process of
its own.

    python mirrored_checks.py WORK_DIR
"""

import json
import os
import sys

from egan_tf.training.runtime import Runtime, split_cpu

split_cpu(2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from helpers import TINY_EGAN, interrupting  # noqa: E402

from egan_tf.config import (  # noqa: E402
    ClassifierConfig,
    CrossValidationConfig,
    EncoderLossConfig,
    TrainingConfig,
)
from egan_tf.data import load_split  # noqa: E402
from egan_tf.errors import TrainingInterrupted  # noqa: E402
from egan_tf.execution import ExecutionConfig  # noqa: E402
from egan_tf.networks import (  # noqa: E402
    build_classifier,
    build_discriminator,
    build_generator,
)
from egan_tf.training import loop  # noqa: E402
from egan_tf.training.classifier import train_classifier  # noqa: E402
from egan_tf.training.encoder import train_encoder  # noqa: E402
from egan_tf.training.encoder_fold import EncoderRun  # noqa: E402
from egan_tf.training.gan import train_gan  # noqa: E402

NO_DROPOUT = ClassifierConfig(filters=(4,), dense_units=8, dropout_rate=0.0)
DROPOUT = ClassifierConfig(filters=(4,), dense_units=8)
# Three batches an epoch, two epochs, an odd global batch to split unevenly.
TRAINING = TrainingConfig(epochs=2, batch_size=33, seed=2)
RUNTIMES = {
    kind: Runtime.create(ExecutionConfig(strategy=kind))
    for kind in ("default", "mirrored")
}


def weights_of(models):
    return [w for model in models for w in model.get_weights()]


def max_difference(first, second):
    return max(
        float(np.max(np.abs(a - b))) if a.size else 0.0
        for a, b in zip(first, second, strict=True)
    )


def classifier_run(config, arrays, directory, runtime):
    result = train_classifier(
        config, TRAINING, arrays, directory, show_progress=False, runtime=runtime
    )
    return [result.classifier], result.history


def gan_run(arrays, directory, runtime):
    result = train_gan(
        TINY_EGAN, TRAINING, arrays, directory, show_progress=False, runtime=runtime
    )
    return [result.generator, result.discriminator], result.history


def encoder_run(arrays, directory, runtime):
    keras.utils.set_random_seed(0)
    generator = build_generator(TINY_EGAN)
    classifier = build_classifier(NO_DROPOUT)
    run = EncoderRun(
        TINY_EGAN,
        TRAINING,
        EncoderLossConfig(),
        CrossValidationConfig(folds=2, max_folds=1),
    )
    result = train_encoder(
        run, generator, classifier, arrays, directory, show_progress=False,
        runtime=runtime,
    )  # fmt: skip
    return [result.encoder], result.folds[0]["history"]


def interrupted_then_resumed(train, directory):
    """Ctrl-C at the fourth step (inside epoch 2), then a rerun."""
    compile_step = loop.compile_train_step
    loop.compile_train_step = interrupting(compile_step, at_call=4)
    try:
        train(directory)
    except TrainingInterrupted:
        pass
    else:
        raise AssertionError(f"the run in {directory} ended uninterrupted")
    finally:
        loop.compile_train_step = compile_step
    return train(directory)


def main(work_dir):
    arrays = load_split("test").take(99)
    mirrored = RUNTIMES["mirrored"]
    report = {"replicas": mirrored.num_replicas}

    # Resume is exact under the mirrored strategy, to the last bit, dropout
    # and noise included.
    for stage, train in (
        ("classifier", lambda d: classifier_run(DROPOUT, arrays, d, mirrored)),
        ("gan", lambda d: gan_run(arrays, d, mirrored)),
        ("encoder", lambda d: encoder_run(arrays, d, mirrored)),
    ):
        straight, _ = train(os.path.join(work_dir, f"{stage}_straight"))
        resumed, _ = interrupted_then_resumed(
            train, os.path.join(work_dir, f"{stage}_resumed")
        )
        report[f"{stage}_resume_difference"] = max_difference(
            weights_of(straight), weights_of(resumed)
        )

    # The same global batches and seed give the same networks on one device
    # and on two (no dropout and no sampled noise: nothing differs by design).
    for stage, train, measure in (
        (
            "classifier",
            lambda d, r: classifier_run(NO_DROPOUT, arrays, d, r),
            "epoch_loss",
        ),
        ("encoder", lambda d, r: encoder_run(arrays.take(66 * 2), d, r), "val_mse"),
    ):
        runs = {
            kind: train(os.path.join(work_dir, f"{stage}_{kind}"), runtime)
            for kind, runtime in RUNTIMES.items()
        }
        report[f"{stage}_weight_difference"] = max_difference(
            weights_of(runs["default"][0]), weights_of(runs["mirrored"][0])
        )
        report[f"{stage}_losses"] = {
            kind: [epoch[measure] for epoch in history]
            for kind, (_, history) in runs.items()
        }

    # Each replica draws its own noise.
    seeds = mirrored.strategy.run(
        mirrored.replica_seed, args=(tf.constant([7, 3], tf.int64),)
    )
    report["replica_seeds"] = [
        value.numpy().tolist()
        for value in mirrored.strategy.experimental_local_results(seeds)
    ]

    # Each replica drops its own units: the same images on both replicas
    # must not come out with the same dropout mask.
    with mirrored.scope():
        discriminator = build_discriminator(TINY_EGAN)
    images = tf.ones([4, 28, 28, 1])
    outputs = mirrored.strategy.run(
        lambda: discriminator.get_layer("downsample0_drop")(
            discriminator.get_layer("downsample0")(images), training=True
        )
    )
    first, second = mirrored.strategy.experimental_local_results(outputs)
    report["replica_dropout_masks_equal"] = bool(
        np.array_equal(first.numpy() == 0, second.numpy() == 0)
    )

    # keras-team/keras#23085: without building the optimizer in the scope
    # first, the first strategy.run of a custom loop fails.
    unbuilt = Runtime.create(ExecutionConfig(strategy="mirrored"))
    unbuilt.build_optimizer = lambda make, variables: make_in_scope(unbuilt, make)
    try:
        classifier_run(NO_DROPOUT, arrays, os.path.join(work_dir, "unbuilt"), unbuilt)
        report["unbuilt_optimizer_error"] = None
    except tf.errors.OpError as error:
        report["unbuilt_optimizer_error"] = str(error)
    print(json.dumps(report))


def make_in_scope(runtime, make):
    with runtime.scope():
        return make()


if __name__ == "__main__":
    main(sys.argv[1])
