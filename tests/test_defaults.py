"""Tests of the stages' defaults, and of how a user's settings replace them."""

from __future__ import annotations

import pytest

from egan_tf.config import CrossValidationConfig, SettlingConfig
from egan_tf.defaults import (
    BLUR_ENCODER_TRAINING,
    ENCODER_SETTLING,
    PAPER_CROSS_VALIDATION,
    PAPER_ENCODER_TRAINING,
    encoder_schedule,
    resolve_encoder_settling,
)


@pytest.mark.parametrize(
    ("dataset", "fine_tune", "overrides", "expected"),
    [
        ("mnist", False, {}, None),
        ("fashion_mnist", True, {}, None),
        ("fashion_mnist", False, {}, ENCODER_SETTLING["fashion_mnist"]),
        ("fashion_mnist", False, {"epochs": 0}, None),
        (
            "fashion_mnist",
            False,
            {"epochs": 3, "classifier_temperature": 2.0},
            SettlingConfig(epochs=3, classifier_temperature=2.0),
        ),
        ("mnist", False, {"epochs": 4}, SettlingConfig(epochs=4)),
        (
            "mnist",
            True,
            {"epochs": 2, "learning_rate": 0.5},
            SettlingConfig(epochs=2, learning_rate=0.5),
        ),
    ],
)
def test_settling_options_replace_the_data_sets_default(
    dataset, fine_tune, overrides, expected
):
    assert resolve_encoder_settling(dataset, fine_tune, **overrides) == expected


@pytest.mark.parametrize(
    ("dataset", "fine_tune", "overrides"),
    [
        ("mnist", False, {"learning_rate": 0.5}),
        ("fashion_mnist", True, {"classifier_temperature": 2.0}),
        ("fashion_mnist", False, {"epochs": 0, "learning_rate": 0.5}),
    ],
)
def test_settling_options_without_a_settling_are_refused(dataset, fine_tune, overrides):
    with pytest.raises(ValueError, match="no settling to apply these to"):
        resolve_encoder_settling(dataset, fine_tune, **overrides)


def test_the_encoders_schedule_is_the_papers():
    schedule = encoder_schedule("fashion_mnist", fine_tune=False)
    assert schedule.training == PAPER_ENCODER_TRAINING
    assert schedule.cross_validation == PAPER_CROSS_VALIDATION
    assert schedule.note is None


@pytest.mark.parametrize(
    ("dataset", "max_folds", "has_note"),
    [("mnist", None, False), ("fashion_mnist", 1, True)],
)
def test_e_blur_fine_tunes_at_half_the_step_on_its_data_sets_folds(
    dataset, max_folds, has_note
):
    schedule = encoder_schedule(dataset, fine_tune=True)
    assert schedule.training == BLUR_ENCODER_TRAINING
    assert schedule.training.learning_rate == PAPER_ENCODER_TRAINING.learning_rate / 2
    assert schedule.cross_validation == CrossValidationConfig(5, max_folds)
    assert (schedule.note is not None) == has_note


def test_settings_given_replace_the_schedules_and_drop_a_note_on_other_folds():
    schedule = encoder_schedule(
        "fashion_mnist",
        fine_tune=True,
        overrides={"epochs": 2, "seed": 7, "max_folds": 3},
    )
    assert schedule.training.epochs == 2
    assert schedule.training.seed == 7
    assert schedule.training.learning_rate == BLUR_ENCODER_TRAINING.learning_rate
    assert schedule.cross_validation == CrossValidationConfig(5, 3)
    # The note says why only one fold trained; three were asked for.
    assert schedule.note is None
