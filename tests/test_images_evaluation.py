"""Tests of every method on a user's own images (`evaluate --images`)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from conftest import REPOSITORY, SAVED_MODELS
from helpers import tiny_defense_models
from PIL import Image

import cli
from egan_tf.blur import apply_motion_blur
from egan_tf.defenses import DefenseConfig, Method, run_methods
from egan_tf.images_evaluation import NEEDS_TRUE_BLUR, evaluate_images
from egan_tf.user_images import LabelledImages


def _user_images(mnist_test, count=12) -> LabelledImages:
    """Real test digits, the second half blurred hard, as a user might bring."""
    sharp = mnist_test.images[:count].astype(np.float32) / 255.0
    half = count // 2
    blurred = apply_motion_blur(sharp[half:], 0.3, 30.0).numpy()
    return LabelledImages(
        np.concatenate([sharp[:half], blurred]),
        mnist_test.labels[:count],
        tuple(str(index) for index in range(count)),
        "in memory",
    )


def test_each_method_labels_the_images_as_the_registry_does(mnist_test):
    models = tiny_defense_models()
    config = DefenseConfig(gate_length=0.1, refine_steps=2)
    images = _user_images(mnist_test)
    methods = ["none", "gated", "hybrid", "wiener-oracle"]
    result = evaluate_images(models, config, images, methods, batch_size=5)
    assert result.methods == ("none", "gated", "hybrid")
    assert result.not_applicable == {"wiener-oracle": NEEDS_TRUE_BLUR}
    zeros = tf.zeros([len(images)])
    expected = run_methods(
        models, config, result.methods, tf.constant(images.images), zeros, zeros
    )
    for method, output in expected.items():
        labels = tf.argmax(output.logits, -1).numpy()
        predicted = [record.predicted[str(method)] for record in result.images]
        assert predicted == labels.tolist(), method
        assert result.accuracy[str(method)] == pytest.approx(
            np.mean(labels == images.labels)
        )
        low, high = result.interval[str(method)]
        assert low <= result.accuracy[str(method)] <= high
    lengths = [record.estimated_length for record in result.images]
    assert all(length >= 0 for length in lengths)
    assert result.detected_fraction == pytest.approx(np.mean(np.array(lengths) >= 0.1))
    assert "gated - none" in result.paired


def test_a_method_whose_network_is_missing_is_not_applicable(mnist_test):
    import dataclasses

    models = dataclasses.replace(tiny_defense_models(), classifier_mixture=None)
    result = evaluate_images(
        models,
        DefenseConfig(),
        _user_images(mnist_test, 4),
        ["none", "augment-mixture"],
    )
    assert result.methods == ("none",)
    assert "classifier_mixture" in result.not_applicable["augment-mixture"]
    with pytest.raises(ValueError, match="No method can run"):
        evaluate_images(
            models, DefenseConfig(), _user_images(mnist_test, 4), [Method.WIENER_ORACLE]
        )


def _labelled_folder(root, images: LabelledImages):
    for index, (image, label) in enumerate(
        zip(images.images, images.labels, strict=True)
    ):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        grey = np.round(image[..., 0] * 255).astype(np.uint8)
        Image.fromarray(grey).save(folder / f"{index}.png")
    return root


def test_evaluate_images_on_a_folder_prints_tables_and_writes_json(
    tmp_path, mnist_test
):
    folder = _labelled_folder(tmp_path / "mine", _user_images(mnist_test))
    json_path = tmp_path / "mine.json"
    result = CliRunner().invoke(
        cli.main,
        [
            "evaluate", "--models", SAVED_MODELS, "--images", str(folder),
            "--refine-steps", "2", "--json", str(json_path), "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "95 % interval" in result.output
    assert "wiener-oracle: not applicable" in result.output
    payload = json.loads(json_path.read_text())
    assert payload["examples"] == 12
    assert payload["source"] == str(folder)
    assert set(payload["methods"]) == set(Method) - {Method.WIENER_ORACLE}
    assert payload["methods_info"]["hybrid"]["uses_generator"] is True
    names = [record["name"] for record in payload["images"]]
    assert sorted(names) == sorted(names, key=str)
    blurred = [int(name.split("/")[1][:-4]) >= 6 for name in names]
    lengths = np.array([record["estimated_length"] for record in payload["images"]])
    # B reads the hard blur as longer than the sharp digits.
    assert lengths[blurred].mean() > lengths[~np.array(blurred)].mean()
    assert payload["accuracy"]["none"] < payload["accuracy"]["hybrid"]


def test_bad_images_are_one_line_and_nothing_is_written(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((3, 28, 28), np.uint8), labels=np.array([1, 2]))
    work = tmp_path / "work"
    work.mkdir()
    for arguments, needle in [
        (["--images", str(bad)], "bad.npz: images and labels must have the same N"),
        (["--images", str(tmp_path / "none.npz")], "No such file"),
        (["--images", str(bad), "--grid"], "--grid does not go with --images"),
    ]:
        completed = subprocess.run(
            [
                sys.executable, os.path.join(REPOSITORY, "cli.py"), "evaluate",
                *arguments, "--json", "out.json",
            ],
            capture_output=True, text=True, cwd=work, timeout=120, check=False,
        )  # fmt: skip
        assert completed.returncode != 0
        assert "Traceback" not in completed.stderr
        errors = [line for line in completed.stderr.splitlines() if "Error" in line]
        assert len(errors) == 1, completed.stderr
        assert needle in errors[0], completed.stderr
        assert not list(work.iterdir())
