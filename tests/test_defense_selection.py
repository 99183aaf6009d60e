"""Choosing the defence's settings and bfloat16's margin on held-out training
images: the choice from stored answers (NumPy), the answers themselves (tiny
networks) and the `defense` and `bf16_margin` stages of `reproduce`."""

import json
import os

import numpy as np
import pytest
from helpers import TINY_EGAN, tiny_defense_models

from egan_tf.config import (
    BlurMixtureConfig,
    BlurSamplingConfig,
    ClassifierConfig,
    TrainingConfig,
    config_to_dict,
)
from egan_tf.defenses import DefenseConfig, Method, load_defense_file
from egan_tf.grid_spec import BlurKind
from egan_tf.selection import (
    Bfloat16MarginConfig,
    DefenseSearchConfig,
    HeldOutConfig,
    StandIn,
)
from egan_tf.selection.bf16_margin import recheck_margin
from egan_tf.selection.choice import choose_defense

CLASSES = 10
IMAGES = 40


def _log_probabilities(classes: np.ndarray) -> np.ndarray:
    """float16 [settings, images, 10], confidently `classes` [settings, images]."""
    logits = 5.0 * np.eye(CLASSES)[classes]
    return (logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)).astype(
        np.float16
    )


def _synthetic_answers():
    """Two settings, clean and blurred (B estimates 0 and 0.2). C is right on
    clean images and wrong on blurred ones; G's restorations are the other way
    round; C_mix and C_aug are wrong everywhere; Wiener at K = 0.1 is right
    on blurred images."""
    labels = np.random.default_rng(0).integers(0, CLASSES, IMAGES)
    right = np.stack([labels, labels])
    wrong = (right + 1) % CLASSES
    clean_only = np.stack([labels, wrong[1]])
    blurred_only = np.stack([wrong[0], labels])
    views = {
        "none": clean_only,
        "egan-blur": blurred_only,
        "refine 0.03 10": blurred_only,
        "refine 0.03 20": blurred_only,
        "wiener 0.01": wrong,
        "wiener 0.1": blurred_only,
        "mixture": wrong,
        "augment": wrong,
    }
    answers = {
        "labels": labels,
        "refine_kernel": np.array([15, 0.2]),
        "kinds": np.array(["fourier", "fourier"]),
        "noises": np.zeros(2, np.float32),
        "lengths": np.array([0.0, 0.2], np.float32),
        "angles": np.zeros(2, np.float32),
        "estimated_length": np.stack([np.zeros(IMAGES), np.full(IMAGES, 0.2)]).astype(
            np.float16
        ),
    }
    for view, classes in views.items():
        for reader in ("c", "proxy"):
            answers[f"{view}/{reader}"] = _log_probabilities(classes)
    return answers


def test_the_choice_restores_only_where_restoring_helps():
    record = choose_defense(_synthetic_answers(), {"classifier": {"held_out_fold": 3}})
    config = record["config"]
    # Every setting written is a valid DefenseConfig.
    DefenseConfig(**{**config, "gated_restorer": Method(config["gated_restorer"]),
                     "hybrid_restorer": Method(config["hybrid_restorer"])})  # fmt: skip
    assert config["wiener_noise_to_signal"] == 0.1
    # 20 steps buy nothing over 10, and the refined restoration nothing over
    # the plain one, so the cheaper ones are kept.
    assert config["refine_steps"] == 10
    assert config["hybrid_restorer"] == "egan-blur"
    # C_mix is wrong with the same confidence as G's restoration is right:
    # the hybrid needs a weight above 1; the first such is the best.
    assert config["hybrid_weight"] == 2.0
    # The gate keeps C's answer on clean images and restores blurred ones.
    assert config["gated_restorer"] == "egan-blur"
    assert config["gate_length"] <= 0.2
    gated = record["gated"]
    assert gated["mean_accuracy"] == 1.0
    assert [row["margin"] for row in gated["margin_by_setting"]] == [0.0, 1.0]
    assert gated["worst_lower_bound"] >= 0
    assert record["adaptive_method"] == "gated"
    means = record["mean_accuracy_read_by_stand_ins"]
    assert means["none"] == means["egan-blur"] == 0.5
    assert "fold 3" in record["chosen_on"]


def test_when_restoring_never_helps_the_gate_keeps_every_answer_of_c():
    answers = _synthetic_answers()
    # C is now right everywhere, so every restoration loses somewhere.
    labels = answers["labels"]
    for reader in ("c", "proxy"):
        answers[f"none/{reader}"] = _log_probabilities(np.stack([labels, labels]))
    record = choose_defense(answers, {})
    gated = record["gated"]
    assert gated["mean_accuracy"] == 1.0
    assert [row["margin"] for row in gated["margin_by_setting"]] == [0.0, 0.0]
    # No method beats C, which comes first among equals.
    assert record["adaptive_method"] == "none"


@pytest.mark.parametrize(
    ("config_class", "values", "message"),
    [
        (HeldOutConfig, {"examples": 0}, "examples must be ≥ 1. Received: examples=0"),
        (HeldOutConfig, {"noise_levels": (-0.1,)}, "noise_levels must be finite"),
        (
            HeldOutConfig,
            {"refine_step_candidates": ()},
            "refine_step_candidates must not be empty",
        ),
        (DefenseSearchConfig, {"gate_confidences": (1.5,)}, "gate_confidences"),
        (DefenseSearchConfig, {"hybrid_weights": (0.0,)}, "hybrid_weights must"),
        (Bfloat16MarginConfig, {"step": 0.0}, "step must hold finite values > 0"),
    ],
)
def test_the_selection_configs_refuse_bad_values(config_class, values, message):
    with pytest.raises(ValueError, match=message):
        config_class(**values)


def test_the_recheck_margin_doubles_the_largest_flip_and_rounds_up():
    assert recheck_margin(0.0703, 0.05) == 0.15
    assert recheck_margin(0.05, 0.05) == 0.1
    assert recheck_margin(0.0, 0.05) == 0.0


# --- The answers and the stages, with tiny networks. ---

TINY_HELD_OUT = HeldOutConfig(
    examples=6,
    angles=(0.0,),
    noise_levels=(0.0,),
    batch_size=4,
    wiener_candidates=(0.01,),
    refine_step_candidates=(1, 2),
    refine_kernel_size=3,
)
TINY_CLASSIFIER = ClassifierConfig(filters=(4,), dense_units=8)


def test_the_answers_are_the_networks_log_probabilities(mnist_test):
    import tensorflow as tf

    from egan_tf.blur_kinds import blur_setting
    from egan_tf.data import to_unit_interval
    from egan_tf.selection.held_out import collect_answers, held_out_settings

    models = tiny_defense_models()
    stand_ins = {
        StandIn.CLASSIFIER: models.classifier_augment,
        StandIn.CLASSIFIER_MIXTURE: models.classifier,
        StandIn.CLASSIFIER_AUGMENT: models.classifier_mixture,
    }
    settings = held_out_settings(TINY_HELD_OUT, rescaled_length_scale=6.0)
    # Clean, 5 lengths at 2 scales, 5 shake strengths.
    assert len(settings) == 16
    assert {setting.kind for setting in settings} == {BlurKind.FOURIER, BlurKind.SHAKE}
    images = mnist_test.images[:6]
    answers = collect_answers(
        models, stand_ins, images, mnist_test.labels[:6], settings[:3],
        TINY_HELD_OUT, show_progress=False,
    )  # fmt: skip
    assert answers["none/c"].shape == (3, 6, CLASSES)
    assert answers["estimated_length"].shape == (3, 6)
    for view in ("refine 0.03 1", "refine 0.03 2", "wiener 0.01", "egan-blur"):
        assert answers[f"{view}/proxy"].shape == (3, 6, CLASSES)
    # The stored answers are C's and its stand-in's on the blurred images;
    # the batches of 4 and 2 images are blurred as one batch would be.
    setting = settings[2]
    blurred = blur_setting(
        tf.constant(to_unit_interval(images)), tf.range(6, dtype=tf.int64),
        setting.length, setting.angle, setting.kind, setting.noise,
        TINY_HELD_OUT.seed, 2,
    ).images  # fmt: skip
    for reader, model in (("c", models.classifier), ("proxy", stand_ins["classifier"])):
        expected = tf.nn.log_softmax(model(blurred, training=False)).numpy()
        np.testing.assert_allclose(
            answers[f"none/{reader}"][2], expected, atol=2e-3, rtol=2e-3
        )


def _write_tiny_models_folder(folder):
    """Every shipped network at toy size, with the cards the stages read
    (only what they read: written as plain JSON, without measuring the
    machine's matmul rate as a training run's card does)."""
    from egan_tf.atomic_files import write_json_atomically

    folder.mkdir()
    models = tiny_defense_models()
    schedule = TrainingConfig(epochs=1, batch_size=16)
    augmentations = {
        "classifier": None,
        "classifier_augment": BlurSamplingConfig(),
        "classifier_mixture": BlurMixtureConfig(),
    }
    for name, augmentation in augmentations.items():
        getattr(models, name).save(str(folder / f"{name}.keras"))
        write_json_atomically(
            str(folder / f"{name}.json"),
            {
                "stage": name,
                "dataset": "mnist",
                "model": config_to_dict(TINY_CLASSIFIER),
                "training": config_to_dict(schedule),
                "augmentation": augmentation and config_to_dict(augmentation),
            },
        )
    for name in ("generator", "encoder", "encoder_blur", "blur_estimator"):
        getattr(models, name).save(str(folder / f"{name}.keras"))
    write_json_atomically(
        str(folder / "encoder_blur.json"),
        {
            "model": config_to_dict(TINY_EGAN),
            "cross_validation": {"folds": 2},
            "best_fold": 1,
            "training": config_to_dict(schedule),
        },
    )


def test_the_defense_stage_writes_settings_and_reuses_its_answers(tmp_path, mnist_test):
    from egan_tf.training.settings_stages import (
        ANSWERS_FILE,
        choose_and_write_defense,
    )

    models_dir, work_dir = tmp_path / "models", tmp_path / "work"
    _write_tiny_models_folder(models_dir)
    train_arrays = mnist_test.take(24)

    def run():
        return choose_and_write_defense(
            str(models_dir), train_arrays, str(work_dir), 6.0,
            show_progress=False, held_out_config=TINY_HELD_OUT,
        )  # fmt: skip

    record = run()
    config, adaptive = load_defense_file(str(models_dir))
    assert config.refine_kernel_size == 3
    assert config.refine_steps in (1, 2)
    assert adaptive == Method(record["adaptive_method"])
    # The stand-ins trained on the other fold: 12 of the 24 images.
    for stand_in in StandIn:
        card_path = work_dir / "stand_ins" / f"{stand_in.value}.json"
        card = json.loads(card_path.read_text())
        assert card["train_examples"] == 12
        assert card["held_out_fold"] == 1
        assert (work_dir / "stand_ins" / f"{stand_in.value}.keras").is_file()
    assert record["stand_in_classifiers"]["classifier"]["train_examples"] == 12
    # 16 settings of the 6 held-out images (2 noise-free families).
    answers_path = work_dir / ANSWERS_FILE
    with np.load(answers_path) as stored:
        assert stored["none/c"].shape == (16, 6, CLASSES)
    # A second run reuses the answers; a changed network invalidates them.
    written = os.stat(answers_path).st_mtime_ns
    run()
    assert os.stat(answers_path).st_mtime_ns == written
    changed = tiny_defense_models().blur_estimator
    changed.set_weights([weights + 0.01 for weights in changed.get_weights()])
    changed.save(str(models_dir / "blur_estimator.keras"))
    run()
    assert os.stat(answers_path).st_mtime_ns != written


def test_the_bf16_margin_stage_writes_the_margin_evaluate_reads(tmp_path, mnist_test):
    from egan_tf.model_files import load_recheck_margin
    from egan_tf.training.settings_stages import choose_and_write_bfloat16_margin

    models_dir = tmp_path / "models"
    _write_tiny_models_folder(models_dir)
    record = choose_and_write_bfloat16_margin(
        str(models_dir), mnist_test.take(30), config=Bfloat16MarginConfig(examples=10)
    )
    assert load_recheck_margin(str(models_dir)) == record["margin"]
    assert record["held_out"] == "the last 10 MNIST training images"
    assert record["views"] == 41
    assert set(record["classifiers"]) == {
        "classifier", "classifier_augment", "classifier_mixture"
    }  # fmt: skip
    for entry in record["classifiers"].values():
        assert entry["rows"] == 410
        assert 0 <= entry["flips"] <= entry["rows"]
        assert (
            recheck_margin(entry["largest_margin_of_a_flip"], 0.05)
            <= (record["margin"])
        )
