"""An interrupted and resumed run must end where an uninterrupted one does, to
the last bit, for every training loop; and a resumed run must keep its
settings."""

from __future__ import annotations

import functools
import json

import keras
import numpy as np
import pytest
from helpers import TINY_EGAN, interrupting

from egan_tf.config import (
    BlurEstimatorConfig,
    BlurSamplingConfig,
    ClassifierConfig,
    CrossValidationConfig,
    EncoderLossConfig,
    SettlingConfig,
    TrainingConfig,
)
from egan_tf.execution import ExecutionConfig, Precision
from egan_tf.networks import build_classifier, build_generator
from egan_tf.training import blur_estimator as blur_estimator_training
from egan_tf.training import classifier as classifier_training
from egan_tf.training import encoder as encoder_training
from egan_tf.training import gan as gan_training
from egan_tf.training import loop as loop_module
from egan_tf.training.encoder_fold import EncoderRun
from egan_tf.training.loop import TrainingInterrupted
from egan_tf.training.runtime import Runtime

# Four batches an epoch, two epochs; the interruption falls inside epoch 2.
TRAINING = TrainingConfig(epochs=2, batch_size=16, seed=5)
TRAINED_EXAMPLES = 64
INTERRUPT_AT_CALL = 6
# Dropout at its default rate, so that the dropout masks' RNG is exercised.
DROPOUT_CLASSIFIER = ClassifierConfig(filters=(4,), dense_units=8)
TINY_BLUR_ESTIMATOR = BlurEstimatorConfig(filters=(4,), dense_units=8)


def _train_classifier(
    arrays, checkpoint_dir, augmentation=None, precision=Precision.FLOAT32
):
    result = classifier_training.train_classifier(
        DROPOUT_CLASSIFIER,
        TRAINING,
        arrays,
        checkpoint_dir,
        show_progress=False,
        augmentation=augmentation,
        runtime=Runtime.create(ExecutionConfig(precision=precision)),
    )
    return [result.classifier], result.history


def _train_blur_estimator(arrays, checkpoint_dir):
    result = blur_estimator_training.train_blur_estimator(
        TINY_BLUR_ESTIMATOR,
        TRAINING,
        BlurSamplingConfig(),
        arrays,
        arrays.take(16),
        checkpoint_dir,
        show_progress=False,
    )
    return [result.estimator], result.history


def _train_gan(arrays, checkpoint_dir):
    result = gan_training.train_gan(
        TINY_EGAN, TRAINING, arrays, checkpoint_dir, show_progress=False
    )
    return [result.generator, result.discriminator], result.history


def _train_encoder(arrays, checkpoint_dir, settling=None, input_blur=None):
    keras.utils.set_random_seed(0)
    generator = build_generator(TINY_EGAN)
    classifier = build_classifier(DROPOUT_CLASSIFIER)
    run = EncoderRun(
        TINY_EGAN,
        TRAINING,
        EncoderLossConfig(),
        CrossValidationConfig(folds=2, max_folds=1),
        input_blur=input_blur,
        settling=settling,
    )
    result = encoder_training.train_encoder(
        run, generator, classifier, arrays, checkpoint_dir, show_progress=False
    )
    if settling is not None:
        return [result.encoder], result.settling["history"]
    return [result.encoder], result.folds[0]["history"]


# Stage -> (training function, examples given, which step the loops make is
# interrupted). The encoder trains on one fold of two, so it is given twice as
# many examples; settling is the second loop of its run, after the fold's.
STAGES = {
    "classifier": (_train_classifier, TRAINED_EXAMPLES, 1),
    "classifier_augmented": (
        functools.partial(_train_classifier, augmentation=BlurSamplingConfig()),
        TRAINED_EXAMPLES,
        1,
    ),
    "classifier_bfloat16": (
        functools.partial(_train_classifier, precision=Precision.BFLOAT16),
        TRAINED_EXAMPLES,
        1,
    ),
    "blur_estimator": (_train_blur_estimator, TRAINED_EXAMPLES, 1),
    "gan": (_train_gan, TRAINED_EXAMPLES, 1),
    "encoder": (_train_encoder, 2 * TRAINED_EXAMPLES, 1),
    "encoder_settling": (
        functools.partial(
            _train_encoder, settling=SettlingConfig(epochs=2, learning_rate=1e-2)
        ),
        2 * TRAINED_EXAMPLES,
        2,
    ),
    "encoder_blur": (
        functools.partial(_train_encoder, input_blur=BlurSamplingConfig()),
        2 * TRAINED_EXAMPLES,
        1,
    ),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_interrupted_and_resumed_equals_uninterrupted(
    stage, tmp_path, mnist_test, monkeypatch
):
    train, examples, interrupted_step = STAGES[stage]
    arrays = mnist_test.take(examples)
    expected_models, expected_history = train(arrays, str(tmp_path / "straight"))

    resumed_dir = str(tmp_path / "resumed")
    with monkeypatch.context() as patch:
        # Every loop compiles its step through `compile_train_step`.
        compile_step = loop_module.compile_train_step
        patch.setattr(
            loop_module,
            "compile_train_step",
            interrupting(compile_step, INTERRUPT_AT_CALL, interrupted_step),
        )
        with pytest.raises(TrainingInterrupted):
            train(arrays, resumed_dir)
    models, history = train(arrays, resumed_dir)

    for expected, actual in zip(expected_models, models, strict=True):
        for before, after in zip(
            expected.get_weights(), actual.get_weights(), strict=True
        ):
            np.testing.assert_array_equal(after, before)
    # The resumed epoch averages its metrics over all of its batches, those
    # before the interruption included; and the epoch the interrupted process
    # finished is still reported.
    assert history == expected_history
    assert [row["epoch"] for row in history] == [1, 2]


def test_a_finished_run_run_again_reports_its_epochs(tmp_path, mnist_test):
    # `reproduce` re-runs finished stages to re-save them; their model cards
    # must still carry the training metrics.
    arrays = mnist_test.take(32)
    checkpoint_dir = str(tmp_path / "run")
    first = classifier_training.train_classifier(
        DROPOUT_CLASSIFIER, TRAINING, arrays, checkpoint_dir, show_progress=False
    )
    again = classifier_training.train_classifier(
        DROPOUT_CLASSIFIER, TRAINING, arrays, checkpoint_dir, show_progress=False
    )
    assert len(first.history) == TRAINING.epochs
    assert again.history == first.history


def test_resuming_with_other_settings_names_the_field(
    tmp_path, mnist_test, fashion_test
):
    arrays = mnist_test.take(32)
    checkpoint_dir = str(tmp_path / "run")
    training = TrainingConfig(epochs=1, batch_size=16, seed=1)
    gan_training.train_gan(
        TINY_EGAN, training, arrays, checkpoint_dir, show_progress=False
    )
    saved = (tmp_path / "run" / "config.json").read_text()
    for field, changed in (
        ("training.batch_size", TrainingConfig(epochs=1, batch_size=8, seed=1)),
        ("training.seed", TrainingConfig(epochs=1, batch_size=16, seed=2)),
        ("training.learning_rate", TrainingConfig(1, 16, learning_rate=0.5, seed=1)),
    ):
        with pytest.raises(ValueError, match=rf"{field}=") as error:
            gan_training.train_gan(
                TINY_EGAN, changed, arrays, checkpoint_dir, show_progress=False
            )
        assert len(str(error.value).splitlines()) == 1
        # The saved settings were not overwritten by the refused run.
        assert (tmp_path / "run" / "config.json").read_text() == saved
    # Nor may a run go on with another data set's images.
    with pytest.raises(
        ValueError,
        match=r"data\.dataset='mnist', this run data\.dataset='fashion_mnist'",
    ):
        gan_training.train_gan(
            TINY_EGAN, training, fashion_test.take(32), checkpoint_dir,
            show_progress=False,
        )  # fmt: skip
    assert (tmp_path / "run" / "config.json").read_text() == saved
    # A GAN run may be extended: its learning rate does not depend on epochs.
    longer = TrainingConfig(epochs=2, batch_size=16, seed=1)
    gan_training.train_gan(
        TINY_EGAN, longer, arrays, checkpoint_dir, show_progress=False
    )
    assert json.loads(saved)["training"]["epochs"] == 1


def test_a_classifier_run_keeps_its_epochs(tmp_path, mnist_test):
    # C's cosine decay spans the whole run, so its length is part of the schedule.
    arrays = mnist_test.take(32)
    checkpoint_dir = str(tmp_path / "run")
    classifier_training.train_classifier(
        DROPOUT_CLASSIFIER,
        TrainingConfig(epochs=1, batch_size=16),
        arrays,
        checkpoint_dir,
        show_progress=False,
    )
    with pytest.raises(
        ValueError, match=r"training\.epochs=1, this run training\.epochs=2"
    ):
        classifier_training.train_classifier(
            DROPOUT_CLASSIFIER,
            TrainingConfig(epochs=2, batch_size=16),
            arrays,
            checkpoint_dir,
            show_progress=False,
        )
