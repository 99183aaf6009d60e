"""Tests of `export` then `predict`: the exported model run in-process on test
images, PNG files and labelled folders."""

import json
import os

from click.testing import CliRunner
from conftest import SAVED_MODELS
from PIL import Image

import cli
from egan_tf.datasets import dataset_spec

SHIPPED_EXPORT = os.path.join(SAVED_MODELS, "egan_defense")


def test_export_then_predict_locally(tmp_path, mnist_test, tiny_models_dir):
    root = tmp_path / "egan_defense"
    # Version 1, of tiny networks, is not measured: its number is what is
    # checked. Version 2 is the shipped defence, measured.
    exports = (
        (1, ["--models", str(tiny_models_dir), "--no-measure"]),
        (2, ["--limit", "100", "--measure"]),
    )
    for expected_version, arguments in exports:
        result = CliRunner().invoke(
            cli.main, ["export", "--output", str(root), *arguments]
        )
        assert result.exit_code == 0, result.output
        assert f"Wrote version {expected_version}" in result.output
    card = json.loads((root / "export.json").read_text())
    assert [entry["version"] for entry in card["versions"]] == [1, 2]
    assert card["versions"][0]["measured_on_test"] is None
    assert card["versions"][1]["dataset"] == "mnist"
    measured = card["versions"][1]["measured_on_test"]
    assert measured["examples"] == 100
    assert measured["defended_accuracy"] >= 0.9
    assert measured["gated_accuracy"] >= measured["undefended_accuracy"] - 0.01
    for family, record in measured["defend_gated_vs_in_memory"].items():
        assert record["labels_equal"] == record["examples"] == 100, family
        assert record["max_logit_difference"] <= 1e-4, family

    digit = tmp_path / "digit.png"
    Image.fromarray(mnist_test.images[0, :, :, 0]).save(digit)
    result = CliRunner().invoke(
        cli.main,
        ["predict", "--local", str(root), "--signature", "classify", str(digit)],
    )
    assert result.exit_code == 0, result.output
    row = result.output.splitlines()[1].split()
    assert row[0].endswith("digit.png")
    assert int(row[1]) == mnist_test.labels[0]

    result = CliRunner().invoke(
        cli.main,
        [
            "predict", "--local", str(root), "--signature", "blur_and_defend",
            "--length", "0.05", "--angle", "30", "--start", "10", "--count", "4",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("mnist test 10")
    assert lines[-1].endswith("of 4 correct")


def _labelled_test_digits(folder, mnist_test, count, as_png=Image.fromarray):
    """The first `count` test digits as `folder/<label>/<index>.png`, each
    made into a PIL image by `as_png` from its uint8 [28, 28] pixels."""
    for index in range(count):
        label_folder = folder / str(mnist_test.labels[index])
        label_folder.mkdir(parents=True, exist_ok=True)
        as_png(mnist_test.images[index, :, :, 0]).save(label_folder / f"{index}.png")
    return folder


def test_predict_locally_on_a_labelled_folder_in_batches(tmp_path, mnist_test):
    folder = _labelled_test_digits(tmp_path / "mine", mnist_test, 7)
    result = CliRunner().invoke(
        cli.main,
        [
            "predict", "--local", SHIPPED_EXPORT, "--signature", "defend_gated",
            "--batch-size", "3", str(folder),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1 + 7 + 1
    assert lines[-1] in {"7 of 7 correct", "6 of 7 correct"}
    (folder / "notes.txt").write_text("not an image")
    result = CliRunner().invoke(
        cli.main, ["predict", "--local", SHIPPED_EXPORT, str(folder)]
    )
    assert result.exit_code == 1
    assert "Received: the file" in result.output
    assert "notes.txt" in result.output


def test_predict_reads_scans_of_another_size_when_asked(tmp_path, mnist_test):
    # Three test digits as a user might photograph them: 84x84, dark ink on
    # light paper.
    folder = _labelled_test_digits(
        tmp_path / "scans",
        mnist_test,
        3,
        lambda digit: Image.fromarray(255 - digit).resize(
            (84, 84), Image.Resampling.NEAREST
        ),
    )
    refused = CliRunner().invoke(
        cli.main, ["predict", "--local", SHIPPED_EXPORT, str(folder)]
    )
    assert refused.exit_code == 1
    assert "of 84x84" in refused.output
    assert "--resize fits other sizes" in refused.output
    result = CliRunner().invoke(
        cli.main,
        [
            "predict", "--local", SHIPPED_EXPORT, "--signature", "classify",
            "--resize", "--invert", str(folder),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Enlarged by 3 without interpolation, averaged back by 3x3 areas: the
    # shipped C sees the test digits themselves.
    assert result.output.splitlines()[-1] == "3 of 3 correct"


def test_predict_reads_the_data_set_of_the_export_it_runs():
    # Fashion-MNIST's export, without --dataset: its own test images and
    # class names, not MNIST's digits fed to an article classifier.
    result = CliRunner().invoke(
        cli.main,
        [
            "predict", "--local", os.path.join(SAVED_MODELS, "fashion_mnist",
            "egan_defense"), "--signature", "classify", "--count", "2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = result.output.splitlines()
    assert rows[1].startswith("fashion_mnist test 0")
    label = int(rows[1].split()[3])
    assert dataset_spec("fashion_mnist").class_names[label] in rows[1]
