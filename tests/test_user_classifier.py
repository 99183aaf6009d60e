"""Tests of defending a classifier the user trained (`--classifier`)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import SAVED_MODELS

import cli
from egan_tf.errors import ModelFileError
from egan_tf.user_classifier import ClassifierOutput, load_user_classifier


def _small_classifier(softmax: bool) -> keras.Model:
    """A classifier unlike the shipped C: one convolution, global pooling."""
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(8, 5, strides=2, activation="relu")(inputs)
    features = keras.layers.GlobalAveragePooling2D()(features)
    outputs = keras.layers.Dense(10, activation="softmax" if softmax else None)(
        features
    )
    return keras.Model(inputs, outputs, name="users_classifier")


@pytest.fixture(scope="module")
def users_classifier_path(tmp_path_factory):
    """A small softmax classifier trained for a few steps, as a user would."""
    from egan_tf.data import load_split

    mnist_train = load_split("train").take(640)
    keras.utils.set_random_seed(1)
    model = _small_classifier(softmax=True)
    optimizer = keras.optimizers.Adam(0.01)
    images = mnist_train.images[:640].astype(np.float32) / 255.0
    labels = mnist_train.labels[:640]
    for start in range(0, 640, 64):
        with tf.GradientTape() as tape:
            probabilities = model(images[start : start + 64], training=True)
            loss = keras.losses.sparse_categorical_crossentropy(
                labels[start : start + 64], probabilities
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
    path = tmp_path_factory.mktemp("users") / "mine.keras"
    model.save(str(path))
    return str(path)


def test_a_softmax_output_is_detected_and_read_as_log_probabilities(
    users_classifier_path, mnist_test
):
    loaded = load_user_classifier(users_classifier_path)
    assert loaded.output == ClassifierOutput.PROBABILITIES
    assert "outputs probabilities" in loaded.describe()
    original = keras.saving.load_model(users_classifier_path)
    images = mnist_test.images[:8].astype(np.float32) / 255.0
    np.testing.assert_allclose(
        tf.nn.softmax(loaded.model(images)), original(images), atol=1e-6
    )


def test_a_logits_output_is_used_as_it_is(tmp_path):
    path = tmp_path / "logits.keras"
    _small_classifier(softmax=False).save(str(path))
    loaded = load_user_classifier(str(path))
    assert loaded.output == ClassifierOutput.LOGITS


def test_a_classifier_of_the_wrong_shape_or_unsafe_is_refused_in_one_line(tmp_path):
    inputs = keras.Input((32, 32, 1))
    wrong_input = keras.Model(
        inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs))
    )
    wrong_input.save(str(tmp_path / "input.keras"))
    with pytest.raises(
        ModelFileError, match=r"input\.keras has input shape \(32, 32, 1\)"
    ):
        load_user_classifier(str(tmp_path / "input.keras"))
    inputs = keras.Input((28, 28, 1))
    wrong_output = keras.Model(
        inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs))
    )
    wrong_output.save(str(tmp_path / "output.keras"))
    with pytest.raises(ModelFileError, match=r"output shape \(3,\), expected \(10,\)"):
        load_user_classifier(str(tmp_path / "output.keras"))
    flat = keras.layers.Flatten()(inputs)
    unsafe = keras.Model(
        inputs, keras.layers.Lambda(lambda x: x[:, :10])(flat), name="unsafe"
    )
    unsafe.save(str(tmp_path / "unsafe.keras"))
    with pytest.raises(ModelFileError, match=r"Cannot load .*unsafe\.keras") as raised:
        load_user_classifier(str(tmp_path / "unsafe.keras"))
    assert "\n" not in str(raised.value)


def test_every_method_and_the_export_defend_the_users_classifier(
    users_classifier_path, tmp_path, mnist_test
):
    json_path = tmp_path / "grid.json"
    result = CliRunner().invoke(
        cli.main,
        [
            "evaluate", "--models", SAVED_MODELS, "--grid", "--methods", "all",
            "--classifier",
            users_classifier_path, "--limit", "20", "--lengths", "0.2",
            "--angles", "0", "--length-scale", "1.5", "--refine-steps", "2",
            "--json", str(json_path), "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "outputs probabilities" in result.output
    payload = json.loads(json_path.read_text())
    assert payload["classifier"]["path"] == users_classifier_path
    assert payload["classifier"]["output"] == "probabilities"
    assert set(payload["not_applicable"]) == {"augment", "augment-mixture", "hybrid"}
    assert "gated restores with egan-refine" in payload["classifier"]["notes"][0]
    assert {"none", "egan", "egan-refine", "gated", "wiener"} <= set(
        payload["clean_methods"]
    )

    clean = CliRunner().invoke(
        cli.main,
        ["evaluate", "--models", SAVED_MODELS, "--classifier", users_classifier_path,
         "--limit", "50", "--json", str(tmp_path / "clean.json")],
    )  # fmt: skip
    assert clean.exit_code == 0, clean.output
    clean_payload = json.loads((tmp_path / "clean.json").read_text())
    assert clean_payload["classifier"]["output"] == "probabilities"
    users = keras.saving.load_model(users_classifier_path)
    images = mnist_test.images[:50].astype(np.float32) / 255.0
    expected = np.mean(np.argmax(users(images), -1) == mnist_test.labels[:50])
    assert clean_payload["clean_accuracy"] == pytest.approx(expected)

    npz = tmp_path / "mine.npz"
    np.savez(npz, images=mnist_test.images[:6], labels=mnist_test.labels[:6])
    mine = CliRunner().invoke(
        cli.main,
        ["evaluate", "--models", SAVED_MODELS, "--classifier", users_classifier_path,
         "--images", str(npz), "--refine-steps", "2", "--json", str(tmp_path / "mine.json")],
    )  # fmt: skip
    assert mine.exit_code == 0, mine.output
    mine_payload = json.loads((tmp_path / "mine.json").read_text())
    assert mine_payload["classifier"]["path"] == users_classifier_path
    assert "hybrid" in mine_payload["not_applicable"]
    predicted = [record["predicted"]["none"] for record in mine_payload["images"]]
    assert predicted == np.argmax(users(images[:6]), -1).tolist()

    root = tmp_path / "export"
    result = CliRunner().invoke(
        cli.main,
        [
            "export", "--models", SAVED_MODELS, "--classifier", users_classifier_path,
            "--output", str(root),
            "--limit", "20",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = json.loads((root / "export.json").read_text())
    entry = card["versions"][-1]
    assert entry["classifier"]["path"] == users_classifier_path
    assert entry["sources"]["classifier.keras"]["file"] == users_classifier_path
    assert entry["defend_adaptive"] is None
    assert "defend_gated" in entry["signatures"]
    assert "defend_adaptive" not in entry["signatures"]
    loaded = tf.saved_model.load(str(root / "1"))
    served = loaded.signatures["classify"](images=tf.constant(images[:6]))
    np.testing.assert_allclose(served["probabilities"], users(images[:6]), atol=1e-5)
