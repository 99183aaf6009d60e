"""The models shipped in saved_models/ measured on the real test sets: MNIST's,
and Fashion-MNIST's for the networks shipped in saved_models/fashion_mnist/."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest
from conftest import SAVED_MODELS

from egan_tf.evaluation import evaluate_clean
from egan_tf.model_io import (
    AUGMENTED_CLASSIFIER_FILE,
    BLUR_ESTIMATOR_FILE,
    CLASSIFIER_FILE,
    ENCODER_BLUR_FILE,
    ENCODER_FILE,
    GENERATOR_FILE,
    MIXTURE_CLASSIFIER_FILE,
    ModelFileError,
    ShippedModels,
    load_folder_model,
    load_model,
    load_shipped_models,
)


@dataclasses.dataclass(frozen=True)
class ShippedSet:
    """One data set's shipped networks and the targets its issue set.

    Attributes:
        folder: Its models folder.
        test_fixture: The fixture of its 10,000 test images.
        classifier_target: C's least clean accuracy.
        egan_target: C(G(E(x)))'s least clean accuracy, or None.
        egan_largest_cost: How far C(G(E(x))) may fall below C(x), or None.
    """

    folder: str
    test_fixture: str
    classifier_target: float
    egan_target: float | None = None
    egan_largest_cost: float | None = None

    def card(self, name: str) -> dict:
        with open(os.path.join(self.folder, name)) as handle:
            return json.load(handle)

    def require(self, *file_names: str) -> None:
        """Skips the test until every one of the networks it uses is shipped
        (Fashion-MNIST's are trained, and shipped, over several sessions)."""
        for file_name in file_names:
            if not os.path.isfile(os.path.join(self.folder, file_name)):
                pytest.skip(f"{file_name} is not shipped in {self.folder} yet")


SHIPPED_SETS = {
    # Issue 3's targets (the paper: 95.99 % for the EGAN).
    "mnist": ShippedSet(SAVED_MODELS, "mnist_test", 0.992, egan_target=0.975),
    # Issue 15's: C at least 93 %, the EGAN losing at most 4 points (the
    # shipped EGAN, settled with a softened classifier term, loses 3.51).
    "fashion_mnist": ShippedSet(
        os.path.join(SAVED_MODELS, "fashion_mnist"),
        "fashion_test",
        0.93,
        egan_largest_cost=0.04,
    ),
}


@pytest.fixture(params=sorted(SHIPPED_SETS))
def shipped(request):
    """(the data set's shipped set, its test images)."""
    shipped_set = SHIPPED_SETS[request.param]
    return shipped_set, request.getfixturevalue(shipped_set.test_fixture)


@pytest.fixture(scope="module")
def clean_records():
    """The shipped C and EGAN measured once per data set on all its test
    images (C(x) and C(G(E(x))) in one pass): data set -> CleanRecord."""
    records = {}

    def measure(shipped_set, test_arrays):
        if shipped_set.folder not in records:
            shipped_set.require(ENCODER_FILE)
            models = load_shipped_models(shipped_set.folder, require_egan=True)
            records[shipped_set.folder] = evaluate_clean(models, test_arrays)
        return records[shipped_set.folder]

    return measure


def _card(name):
    return SHIPPED_SETS["mnist"].card(name)


def test_shipped_classifier_reaches_target_accuracy(shipped, clean_records):
    shipped_set, test_arrays = shipped
    record = clean_records(shipped_set, test_arrays)
    assert record.examples == 10000
    assert record.clean_accuracy >= shipped_set.classifier_target
    assert record.clean_accuracy == pytest.approx(
        shipped_set.card("classifier.json")["test_accuracy"], abs=1e-4
    )


def test_missing_model_file_is_one_clear_line(tmp_path):
    with pytest.raises(ModelFileError, match="Model file not found"):
        load_shipped_models(str(tmp_path))


def test_missing_networks_name_the_stages_that_train_them(tmp_path):
    # A second data set's folder ships stage by stage: with only its
    # classifier, the defence must say which `reproduce` stages make the
    # rest, for that data set (it used to name the files only).
    for name in (CLASSIFIER_FILE, "classifier.json"):
        shutil.copy(os.path.join(SAVED_MODELS, "fashion_mnist", name), tmp_path)
    with pytest.raises(ModelFileError) as raised:
        load_shipped_models(str(tmp_path), require_egan=True)
    message = str(raised.value)
    assert os.path.join(str(tmp_path), GENERATOR_FILE) in message
    assert os.path.join(str(tmp_path), ENCODER_FILE) in message
    assert (
        f"reproduce --dataset fashion_mnist --stages gan,encoder --models {tmp_path}"
        in message
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("file_name", "stage"), [(GENERATOR_FILE, "gan"), (ENCODER_FILE, "encoder")]
)
def test_one_missing_network_of_a_folder_names_its_stage(tmp_path, file_name, stage):
    # `samples` and `train-encoder` load one network of a folder; a missing
    # one used to be named without the stage that trains it.
    shutil.copy(
        os.path.join(SAVED_MODELS, "fashion_mnist", "classifier.json"), tmp_path
    )
    with pytest.raises(ModelFileError) as raised:
        load_folder_model(str(tmp_path), file_name)
    assert str(raised.value) == (
        f"Model file not found: {tmp_path / file_name}. Train it with: python cli.py "
        f"reproduce --dataset fashion_mnist --stages {stage} --models {tmp_path}"
    )


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


def test_shipped_egan_reaches_target_accuracy(shipped, clean_records):
    shipped_set, test_arrays = shipped
    record = clean_records(shipped_set, test_arrays)
    card = shipped_set.card("encoder.json")["test"]
    assert record.egan_accuracy == pytest.approx(card["egan_accuracy"], abs=1e-4)
    assert record.reconstruction_mse == pytest.approx(
        card["reconstruction_mse"], rel=1e-3
    )
    if shipped_set.egan_target is not None:
        assert record.egan_accuracy >= shipped_set.egan_target
    if shipped_set.egan_largest_cost is not None:
        assert record.clean_accuracy - record.egan_accuracy <= (
            shipped_set.egan_largest_cost
        )


@pytest.mark.parametrize("dataset", sorted(SHIPPED_SETS))
def test_the_shipped_gan_ran_the_paper_s_schedule(dataset):
    # The paper's GAN: 300 epochs at batch 128 (Fashion-MNIST's took five
    # sessions of resumes; its card must still say all of them ran).
    shipped_set = SHIPPED_SETS[dataset]
    shipped_set.require(GENERATOR_FILE)
    card = shipped_set.card("gan.json")
    assert card["schedule_run"] == {
        "epochs": 300,
        "batch_size": 128,
        "paper_epochs": 300,
        "paper_batch_size": 128,
    }
    assert card["final_epoch_metrics"]["epoch"] == 300
    # Cards written before the data set was recorded are MNIST's.
    assert card.get("dataset", "mnist") == dataset
    generator = load_model(
        os.path.join(shipped_set.folder, GENERATOR_FILE),
        expected_output_shape=(28, 28, 1),
    )
    assert generator.count_params() == card["generator_parameters"]
    latents = np.random.default_rng(0).standard_normal((16, generator.input_shape[-1]))
    samples = np.asarray(generator(latents.astype(np.float32), training=False))
    assert samples.min() >= 0.0
    assert samples.max() <= 1.0
    assert samples.std() > 0.1  # not one grey image


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


@pytest.mark.parametrize(
    "file_name", [AUGMENTED_CLASSIFIER_FILE, MIXTURE_CLASSIFIER_FILE]
)
def test_shipped_augmented_classifiers_measure_what_their_cards_say(shipped, file_name):
    from egan_tf.evaluation import accuracy_of

    shipped_set, test_arrays = shipped
    # Each is checked as soon as it is shipped (Fashion-MNIST's networks are
    # shipped stage by stage, over several sessions).
    shipped_set.require(file_name)
    network = load_folder_model(
        shipped_set.folder, file_name, expected_input_shape=(28, 28, 1)
    )
    card = shipped_set.card(file_name.replace(".keras", ".json"))
    assert accuracy_of(network, test_arrays) == pytest.approx(
        card["test_accuracy"], abs=1e-4
    )


def test_shipped_blur_estimator_and_blur_encoder_measure_what_their_cards_say(
    shipped,
):
    from egan_tf.config import BlurSamplingConfig, config_from_dict
    from egan_tf.defenses import load_defense_models
    from egan_tf.training.blur_estimator import measure_blur_estimator

    shipped_set, test_arrays = shipped
    shipped_set.require(ENCODER_BLUR_FILE, BLUR_ESTIMATOR_FILE)
    models = load_defense_models(shipped_set.folder)
    estimator_card = shipped_set.card("blur_estimator.json")
    measured = measure_blur_estimator(
        models.blur_estimator,
        test_arrays,
        config_from_dict(BlurSamplingConfig, estimator_card["blur"]),
    )
    for key in ("length_mae", "angle_mae_degrees"):
        assert measured[key] == pytest.approx(
            estimator_card["test_random_blur"][key], rel=1e-3
        )
    encoder_card = shipped_set.card("encoder_blur.json")
    record = evaluate_clean(
        ShippedModels(models.classifier, models.generator, models.encoder_blur),
        test_arrays,
    )
    assert record.egan_accuracy == pytest.approx(
        encoder_card["test"]["egan_accuracy"], abs=1e-4
    )


def test_the_shipped_gate_is_not_below_c_where_it_comes_closest(shipped):
    # Of the points of the rescaled Fourier grid where B sends some images
    # on, the one where `gated` comes closest to `none` in the shipped
    # methods JSON, measured afresh on all 10,000 test images with the
    # shipped networks and defense.json. (Until session 20 MNIST's point was
    # fixed at l = 0.02, θ = 30°, where the gate chosen since sends nothing.)
    from egan_tf.data import dataset_of
    from egan_tf.datasets import dataset_spec
    from egan_tf.defenses import (
        DEFENSE_CONFIG_FILE,
        load_defense_config,
        load_defense_models,
    )
    from egan_tf.grid_spec import GridSpec
    from egan_tf.methods_grid import evaluate_methods_grid

    shipped_set, test_arrays = shipped
    scale = dataset_spec(dataset_of(test_arrays)).length_scale
    methods_file = f"methods_fourier_scale{scale:g}_noise0.json"
    shipped_set.require(DEFENSE_CONFIG_FILE, methods_file)
    recorded = shipped_set.card(methods_file)
    sent = [
        point
        for point in recorded["grid"]
        if point["estimator"]["detected_fraction"] > 0
    ]
    closest = min(
        sent, key=lambda point: point["methods"]["gated"] - point["methods"]["none"]
    )
    result = evaluate_methods_grid(
        load_defense_models(shipped_set.folder),
        load_defense_config(shipped_set.folder),
        test_arrays,
        ["none", "gated"],
        GridSpec(
            [closest["length"]],
            [closest["angle"]],
            length_scale=recorded["length_scale"],
        ),
        show_progress=False,
    )
    measured = result.grid[0].accuracy
    assert result.grid[0].estimator.detected_fraction > 0
    # The product's guarantee (issues 12 and 15): never below `none` by more
    # than 0.05 points. Fashion-MNIST's gate had no admissible setting on the
    # held-out images, and is 0.02 points below here.
    assert measured["gated"] >= measured["none"] - 0.0005
    assert result.clean["gated"] >= result.clean["none"] - 0.0005
    for method in ("none", "gated"):
        assert measured[method] == pytest.approx(closest["methods"][method], abs=2e-4)


@pytest.mark.parametrize("dataset", sorted(SHIPPED_SETS))
def test_the_bfloat16_recheck_margin_is_the_one_chosen_on_held_out_images(dataset):
    from egan_tf.model_files import BFLOAT16_MARGIN_FILE
    from egan_tf.precision import BFLOAT16_RECHECK_MARGIN

    shipped_set = SHIPPED_SETS[dataset]
    shipped_set.require(BFLOAT16_MARGIN_FILE)
    chosen = shipped_set.card(BFLOAT16_MARGIN_FILE)
    if dataset == "mnist":
        # The default margin is MNIST's.
        assert chosen["margin"] == BFLOAT16_RECHECK_MARGIN
    assert "training images" in chosen["held_out"]
    for record in chosen["classifiers"].values():
        assert record["largest_margin_of_a_flip"] * 2 <= chosen["margin"]
