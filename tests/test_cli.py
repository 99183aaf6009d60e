"""Tests of the click command line: its commands run in-process on tiny
networks and the shipped ones. Refusals are in test_cli_refusals.py, predict
in test_cli_predict.py."""

import json
import os
import shutil

import pytest
from click.testing import CliRunner
from conftest import SAVED_MODELS, SMALL_TEST_EXAMPLES
from PIL import Image

import cli
from egan_tf.config import config_to_dict
from egan_tf.defaults import BLUR_ENCODER_TRAINING, encoder_loss
from egan_tf.defenses import DefenseConfig


def test_help_lists_the_commands():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    for command in (
        "train-classifier",
        "train-gan",
        "train-encoder",
        "reproduce",
        "evaluate",
        "blur",
        "samples",
        "export",
        "predict",
    ):
        assert command in result.output


def test_evaluate_prints_and_writes_json(tmp_path):
    json_path = tmp_path / "result.json"
    result = CliRunner().invoke(
        cli.main,
        [
            "evaluate",
            "--models",
            SAVED_MODELS,
            "--limit",
            "200",
            "--json",
            str(json_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Classifier accuracy C(x)" in result.output
    record = json.loads(json_path.read_text())
    assert record["examples"] == 200
    assert 0.9 <= record["clean_accuracy"] <= 1.0


def test_evaluate_says_why_a_folder_without_the_egan_measures_c_only(tmp_path):
    # A second data set's folder ships stage by stage. With only its
    # classifier, `evaluate` used to print C's line and leave the EGAN's out
    # without a word.
    for name in ("classifier.keras", "classifier.json"):
        shutil.copy(os.path.join(SAVED_MODELS, "fashion_mnist", name), tmp_path)
    shutil.copy(os.path.join(SAVED_MODELS, "generator.keras"), tmp_path)
    arguments = ["evaluate", "--dataset", "fashion_mnist", "--limit", "20"]
    result = CliRunner().invoke(cli.main, [*arguments, "--models", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Classifier accuracy C(x)" in result.output
    (note,) = [line for line in result.output.splitlines() if "not measured" in line]
    assert os.path.join(str(tmp_path), "encoder.keras") in note
    assert "generator.keras" not in note
    assert (
        f"reproduce --dataset fashion_mnist --stages encoder --models {tmp_path}"
        in note
    )


def test_blur_writes_a_png(tmp_path):
    output = tmp_path / "grid.png"
    result = CliRunner().invoke(
        cli.main,
        [
            "blur",
            "--length",
            "0.2",
            "--angle",
            "30",
            "--count",
            "4",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    with Image.open(output) as image:
        assert image.format == "PNG"
        assert image.width > image.height > 50
    assert not list(tmp_path.glob("*.tmp*"))


def test_evaluate_grid_writes_every_output(tmp_path, tiny_models_dir):
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli.main,
        [
            "evaluate", "--grid", "--models", str(tiny_models_dir), "--limit", "20",
            "--lengths", "0.1,0.2", "--angles", "0,90", "--length-scale", "2",
            "--json", str(out / "grid.json"), "--csv", str(out / "grid.csv"),
            "--figures", str(out / "figures"), "--quiet",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Table 1" in result.output
    assert "Table 2" in result.output
    payload = json.loads((out / "grid.json").read_text())
    assert [(row["length"], row["angle"]) for row in payload["grid"]] == [
        (0.1, 0.0), (0.1, 90.0), (0.2, 0.0), (0.2, 90.0),
    ]  # fmt: skip
    assert payload["length_scale"] == 2.0
    assert sorted(path.name for path in (out / "figures").iterdir()) == [
        "grid_examples.png",
        "grid_heatmaps.png",
    ]


def test_evaluate_grid_in_bfloat16_records_it_and_agrees_with_float32(tmp_path):
    payloads = {}
    for precision in ("float32", "bfloat16"):
        path = tmp_path / f"{precision}.json"
        result = CliRunner().invoke(
            cli.main,
            [
                "evaluate", "--grid", "--limit", "200", "--lengths", "0.03,0.05",
                "--angles", "0,45", "--precision", precision, "--quiet",
                "--json", str(path),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        payloads[precision] = json.loads(path.read_text())
    assert payloads["bfloat16"]["precision"] == "bfloat16"
    assert payloads["float32"]["precision"] == "float32"
    # bfloat16 may flip an image or two of 200 near a decision boundary.
    for single, half in zip(
        payloads["float32"]["grid"], payloads["bfloat16"]["grid"], strict=True
    ):
        for key in ("accuracy_blurred_all", "accuracy_defended_all"):
            assert abs(single[key] - half[key]) <= 0.01, (key, single, half)


def test_beyond_the_paper_trainers_then_every_method(
    tmp_path, tiny_models_dir, small_mnist_dir
):
    models = str(tiny_models_dir)
    data = ["--data-dir", small_mnist_dir, "--limit", "96", "--quiet"]
    # Settling takes its schedule from E's card, and refuses these.
    common = [*data, "--epochs", "1", "--batch-size", "32"]
    trainings = [
        [
            "train-encoder",
            "--blur-max-length",
            "0.3",
            "--folds",
            "2",
            "--max-folds",
            "1",
            "--latent-cycle-weight",
            "0.5",
            "--models",
            models,
        ],
        ["train-classifier", "--blur-max-length", "0.3"],
        ["train-classifier", "--blur-mixture"],
        ["train-blur-estimator"],
    ]
    for index, arguments in enumerate(trainings):
        result = CliRunner().invoke(
            cli.main,
            [
                *arguments, *common, "--output", models,
                "--checkpoint-dir", str(tmp_path / f"checkpoints_{index}"),
            ],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    # E_blur, fine-tuned from E, keeps its own step where none is given,
    # as `reproduce` trains it.
    blur_card = json.loads((tiny_models_dir / "encoder_blur.json").read_text())
    assert blur_card["training"]["learning_rate"] == (
        BLUR_ENCODER_TRAINING.learning_rate
    )
    # Beyond the paper: E trained without settling, then settled by
    # --settle-only from its card, into another folder.
    settled = tmp_path / "settled"

    def train_encoder(*arguments, output, run):
        options = data if "--settle-only" in arguments else common
        return CliRunner().invoke(
            cli.main,
            [
                "train-encoder", *arguments, "--models", models, *options,
                "--output", output, "--checkpoint-dir", str(tmp_path / run),
            ],
        )  # fmt: skip

    result = train_encoder(
        "--folds", "2", "--max-folds", "1", "--settling-epochs", "0",
        output=models, run="unsettled",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    unsettled_card = json.loads((tiny_models_dir / "encoder.json").read_text())
    assert "settled" not in unsettled_card
    result = train_encoder(
        "--settle-only", "--settling-epochs", "1", "--settling-learning-rate",
        "0.01", "--settling-temperature", "2", output=str(settled), run="settling",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "settled for 1 epochs" in result.output
    settled_card = json.loads((settled / "encoder.json").read_text())
    assert settled_card["settling"] == {
        "epochs": 1,
        "learning_rate": 0.01,
        "classifier_temperature": 2.0,
    }
    assert settled_card["settled"]["fold"] == unsettled_card["best_fold"]
    assert [row["epoch"] for row in settled_card["settled"]["history"]] == [1]
    assert settled_card["test_before_settling"] == unsettled_card["test"]
    assert settled_card["folds"] == unsettled_card["folds"]
    # A settled encoder is not settled twice.
    (settled / "generator.keras").write_bytes(b"")
    result = CliRunner().invoke(
        cli.main,
        [
            "train-encoder", "--settle-only", "--settling-epochs", "1",
            "--models", str(settled), *data, "--output", str(tmp_path / "twice"),
            "--checkpoint-dir", str(tmp_path / "checkpoints_twice"),
        ],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "Only an encoder trained without settling can be settled" in result.output
    assert "settled=True" in result.output
    assert "Traceback" not in result.output
    for name in (
        "encoder_blur", "classifier_augment", "classifier_mixture", "blur_estimator",
    ):  # fmt: skip
        assert (tiny_models_dir / f"{name}.keras").is_file()
        assert (tiny_models_dir / f"{name}.json").is_file()
    card = json.loads((tiny_models_dir / "encoder_blur.json").read_text())
    assert card["stage"] == "encoder_blur"
    assert card["input_blur"]["max_length"] == 0.3
    assert card["initialised_from"] == "encoder.keras"
    augment_card = json.loads((tiny_models_dir / "classifier_augment.json").read_text())
    assert augment_card["test_examples"] == SMALL_TEST_EXAMPLES  # the --data-dir's
    # The weight given replaces the data set's; the others stay the data set's.
    assert card["loss"] == {
        **config_to_dict(encoder_loss("mnist")),
        "latent_cycle_weight": 0.5,
    }

    out = tmp_path / "out"

    def evaluate_methods(json_name, *arguments):
        """Runs `evaluate --grid --methods …` on the tiny models; returns its
        output and the JSON it wrote."""
        result = CliRunner().invoke(
            cli.main,
            ["evaluate", "--grid", "--models", models, *arguments,
             "--json", str(out / json_name), "--quiet"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.output, json.loads((out / json_name).read_text())

    # Two refinement steps keep every method (three refine) cheap here.
    output, payload = evaluate_methods(
        "grid.json", "--limit", "20", "--lengths", "0.1,0.2", "--angles", "0,45",
        "--methods", "all", "--figures", str(out / "figures"), "--refine-steps", "2",
    )  # fmt: skip
    assert "Table 2" in output
    assert "best EGAN - none" in output
    assert set(payload["clean_methods"]) == {
        "none", "egan", "egan-blur", "egan-refine", "gated", "wiener",
        "wiener-oracle", "augment", "augment-mixture", "hybrid",
    }  # fmt: skip
    for record in payload["grid"]:
        assert set(record["methods"]) == set(payload["clean_methods"])
        assert record["methods"]["none"] == record["accuracy_blurred_all"]
    assert (out / "figures" / "methods_examples.png").is_file()
    assert (out / "figures" / "methods_curves.png").is_file()

    _, spatial = evaluate_methods(
        "spatial.json", "--limit", "10", "--lengths", "0.2", "--angles", "30",
        "--methods", "none,gated", "--blur", "spatial",
    )  # fmt: skip
    assert spatial["blur"] == "spatial"
    assert list(spatial["grid"][0]["methods"]) == ["none", "gated"]
    assert payload["defense_config"]["refine_steps"] == 2
    assert spatial["defense_config"]["refine_steps"] == DefenseConfig().refine_steps

    _, unrefined = evaluate_methods(
        "unrefined.json", "--limit", "10", "--lengths", "0.2", "--angles", "30",
        "--methods", "egan-refine", "--refine-steps", "0",
    )  # fmt: skip
    assert unrefined["defense_config"]["refine_steps"] == 0


def test_the_grid_spec_is_validated_in_one_place(tiny_models_dir):
    # The paper's grid, the methods grid and the OOD methods grid all refuse
    # the same bad spec with GridSpec's own message, as the library does.
    from egan_tf.grid_spec import GridSpec

    bad = {"lengths": (0.5,), "angles": (0.0,), "length_scale": 6.0}
    arguments = ["evaluate", "--grid", "--models", str(tiny_models_dir),
                 "--lengths", "0.5", "--angles", "0", "--length-scale", "6"]  # fmt: skip
    for blur, extra in (
        ("fourier", []),
        ("fourier", ["--methods", "none"]),
        ("spatial", ["--methods", "none", "--blur", "spatial"]),
    ):
        with pytest.raises(ValueError, match="at most 1") as raised:
            GridSpec(**bad, blur=blur)
        result = CliRunner().invoke(cli.main, [*arguments, *extra])
        assert result.exit_code == 2
        assert f"Error: {raised.value}" in result.output.splitlines()


def test_the_limit_help_says_which_images_it_takes():
    result = CliRunner().invoke(cli.main, ["evaluate", "--help"])
    assert "TFDS keeps its own shuffled order" in " ".join(result.output.split())


def test_every_json_records_the_data_source(tmp_path, tiny_models_dir):
    path = tmp_path / "clean.json"
    result = CliRunner().invoke(
        cli.main,
        ["evaluate", "--models", str(tiny_models_dir), "--limit", "5",
         "--json", str(path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(path.read_text())["data"]
    assert (data["source"], data["order"], data["examples"]) == ("tfds", "tfds", 5)
