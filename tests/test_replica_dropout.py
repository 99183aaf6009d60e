"""ReplicaDropout on one device (its masks on two replicas are checked in
mirrored_checks.py, which needs a process of its own)."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from helpers import TINY_EGAN

from egan_tf.config import ClassifierConfig
from egan_tf.networks import build_classifier, build_discriminator
from egan_tf.networks.replica_dropout import ReplicaDropout

INPUTS = np.ones((4, 6, 5), np.float32)


def test_one_replica_draws_what_keras_dropout_draws():
    ours = ReplicaDropout(0.4, seed=3)
    theirs = keras.layers.Dropout(0.4, seed=3)
    # Twice: the seed generators advance alike.
    for _ in range(2):
        np.testing.assert_array_equal(
            ours(INPUTS, training=True), theirs(INPUTS, training=True)
        )


def test_masks_scale_kept_units_and_change_between_calls():
    layer = ReplicaDropout(0.5, seed=1)
    first = np.asarray(layer(INPUTS, training=True))
    second = np.asarray(layer(INPUTS, training=True))
    assert set(np.unique(first)) <= {0.0, 2.0}
    assert 0 < np.count_nonzero(first) < first.size
    assert not np.array_equal(first, second)


def test_inference_and_rate_edges_pass_through_or_zero():
    np.testing.assert_array_equal(ReplicaDropout(0.5)(INPUTS, training=False), INPUTS)
    np.testing.assert_array_equal(ReplicaDropout(0.0)(INPUTS, training=True), INPUTS)
    np.testing.assert_array_equal(
        ReplicaDropout(1.0)(INPUTS, training=True), np.zeros_like(INPUTS)
    )


def test_noise_shape_shares_the_mask_along_its_unit_axes():
    layer = ReplicaDropout(0.5, noise_shape=(None, 1, 5), seed=2)
    dropped = np.asarray(layer(INPUTS, training=True))
    np.testing.assert_array_equal(dropped, np.repeat(dropped[:, :1], 6, axis=1))


def test_config_round_trips_through_a_saved_model_file(tmp_path):
    layer = ReplicaDropout(0.25, noise_shape=(None, 1, 5), seed=7, name="drop")
    assert ReplicaDropout.from_config(layer.get_config()).get_config() == (
        layer.get_config()
    )
    inputs = keras.Input((6, 5))
    model = keras.Model(inputs, layer(inputs))
    path = str(tmp_path / "model.keras")
    model.save(path)
    assert isinstance(keras.models.load_model(path).get_layer("drop"), ReplicaDropout)
    # A fresh process that loads it through egan_tf, importing nothing else
    # first (an export killed in a subprocess once could not).
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from egan_tf.model_io import load_model; "
            "print(type(load_model(sys.argv[1]).get_layer('drop')).__name__)",
            path,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.stdout.strip() == "ReplicaDropout", completed.stderr[-2000:]


@pytest.mark.parametrize(
    "build",
    [
        lambda: build_classifier(ClassifierConfig(filters=(4,), dense_units=8)),
        lambda: build_discriminator(TINY_EGAN),
    ],
)
def test_networks_with_dropout_use_it(build):
    model = build()
    assert not [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Dropout)
        and not isinstance(layer, ReplicaDropout)
    ]
    assert any(isinstance(layer, ReplicaDropout) for layer in model.layers)
