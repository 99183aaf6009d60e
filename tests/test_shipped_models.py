"""The models shipped in saved_models/ measured on the real MNIST test set."""

import json
import os
import shutil

import pytest
from conftest import SAVED_MODELS

from egan_tf.evaluation import evaluate_clean
from egan_tf.model_io import (
    CLASSIFIER_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    ModelFileError,
    load_model,
    load_shipped_models,
)

# Issue 3's target for C(G(E(x))) on clean test images (the paper: 95.99 %).
EGAN_ACCURACY_TARGET = 0.975


def _card(name):
    with open(os.path.join(SAVED_MODELS, name)) as handle:
        return json.load(handle)


def test_shipped_classifier_reaches_target_accuracy(mnist_test):
    record = evaluate_clean(load_shipped_models(SAVED_MODELS), mnist_test)
    assert record.examples == 10000
    assert record.clean_accuracy >= 0.992
    assert record.clean_accuracy == pytest.approx(
        _card("classifier.json")["test_accuracy"], abs=1e-4
    )


def test_missing_model_file_is_one_clear_line(tmp_path):
    with pytest.raises(ModelFileError, match="Model file not found"):
        load_shipped_models(str(tmp_path))


def test_shape_mismatch_names_file_and_shapes():
    path = os.path.join(SAVED_MODELS, CLASSIFIER_FILE)
    with pytest.raises(ModelFileError) as raised:
        load_model(path, expected_input_shape=(32, 32, 3))
    assert path in str(raised.value)
    assert "(28, 28, 1)" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_corrupt_model_file_is_one_clear_line(tmp_path):
    path = tmp_path / "classifier.keras"
    path.write_bytes(b"not a zip archive")
    with pytest.raises(ModelFileError, match="Cannot load"):
        load_model(str(path))


def test_shipped_egan_reaches_target_accuracy(mnist_test):
    models = load_shipped_models(SAVED_MODELS, require_egan=True)
    record = evaluate_clean(models, mnist_test)
    card = _card("encoder.json")["test"]
    assert record.egan_accuracy == pytest.approx(card["egan_accuracy"], abs=1e-4)
    assert record.reconstruction_mse == pytest.approx(
        card["reconstruction_mse"], rel=1e-3
    )
    assert record.egan_accuracy >= EGAN_ACCURACY_TARGET


def test_latent_size_mismatch_names_both_files(tmp_path):
    from helpers import TINY_EGAN

    from egan_tf.networks import build_encoder

    for name in (CLASSIFIER_FILE, GENERATOR_FILE):
        shutil.copy(os.path.join(SAVED_MODELS, name), tmp_path / name)
    build_encoder(TINY_EGAN).save(str(tmp_path / ENCODER_FILE))
    with pytest.raises(ModelFileError) as raised:
        load_shipped_models(str(tmp_path))
    message = str(raised.value)
    assert ENCODER_FILE in message
    assert GENERATOR_FILE in message
    assert "latent size 8" in message
    assert "latent size 100" in message


def test_shipped_beyond_the_paper_networks_measure_what_their_cards_say(mnist_test):
    from egan_tf.config import BlurSamplingConfig, config_from_dict
    from egan_tf.defenses import load_defense_models
    from egan_tf.evaluation import accuracy_of
    from egan_tf.model_io import ShippedModels
    from egan_tf.training.blur_estimator import measure_blur_estimator

    models = load_defense_models(SAVED_MODELS)
    for network, card_name in (
        (models.classifier_augment, "classifier_augment.json"),
        (models.classifier_mixture, "classifier_mixture.json"),
    ):
        assert accuracy_of(network, mnist_test) == pytest.approx(
            _card(card_name)["test_accuracy"], abs=1e-4
        )
    estimator_card = _card("blur_estimator.json")
    measured = measure_blur_estimator(
        models.blur_estimator,
        mnist_test,
        config_from_dict(BlurSamplingConfig, estimator_card["blur"]),
    )
    for key in ("length_mae", "angle_mae_degrees"):
        assert measured[key] == pytest.approx(
            estimator_card["test_random_blur"][key], rel=1e-3
        )
    encoder_card = _card("encoder_blur.json")
    record = evaluate_clean(
        ShippedModels(models.classifier, models.generator, models.encoder_blur),
        mnist_test,
    )
    assert record.egan_accuracy == pytest.approx(
        encoder_card["test"]["egan_accuracy"], abs=1e-4
    )


def test_the_shipped_gate_is_not_below_c_where_it_comes_closest(mnist_test):
    # A point of the rescaled grid where B sends some images on (l = 0.12,
    # θ = 30°), measured afresh on all 10,000 test images with the shipped
    # networks and defense.json, against the figures the README quotes from
    # methods_fourier_scale6_noise0.json.
    from egan_tf.defenses import load_defense_config, load_defense_models
    from egan_tf.grid_spec import GridSpec
    from egan_tf.methods_grid import evaluate_methods_grid

    shipped = _card("methods_fourier_scale6_noise0.json")
    result = evaluate_methods_grid(
        load_defense_models(SAVED_MODELS),
        load_defense_config(SAVED_MODELS),
        mnist_test,
        ["none", "gated"],
        GridSpec([0.02], [30.0], length_scale=shipped["length_scale"]),
        show_progress=False,
    )
    measured = result.grid[0].accuracy
    assert measured["gated"] >= measured["none"]
    assert result.clean["gated"] >= result.clean["none"]
    recorded = next(
        point["methods"]
        for point in shipped["grid"]
        if point["length"] == 0.02 and point["angle"] == 30.0
    )
    for method in ("none", "gated"):
        assert measured[method] == pytest.approx(recorded[method], abs=2e-4)


def test_the_bfloat16_recheck_margin_is_the_one_chosen_on_held_out_images():
    from egan_tf.precision import BFLOAT16_RECHECK_MARGIN

    with open(os.path.join(SAVED_MODELS, "bf16_margin.json")) as handle:
        chosen = json.load(handle)
    assert chosen["margin"] == BFLOAT16_RECHECK_MARGIN
    assert "training images" in chosen["held_out"]
    for record in chosen["classifiers"].values():
        assert record["largest_margin_of_a_flip"] * 2 <= chosen["margin"]
