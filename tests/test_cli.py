"""Tests of the click command line, in-process and as a real subprocess."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from conftest import REPOSITORY, SAVED_MODELS, SMALL_TEST_EXAMPLES
from PIL import Image

import cli
from egan_tf.config import config_to_dict
from egan_tf.datasets import dataset_spec
from egan_tf.defaults import BLUR_ENCODER_TRAINING, encoder_loss
from egan_tf.defenses import DefenseConfig

SHIPPED_EXPORT = os.path.join(SAVED_MODELS, "egan_defense")


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


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (["blur", "--length", "-0.1"], "--length"),
        (["blur", "--length", "nan"], "--length"),
        (["blur", "--length", "0.1", "--angle", "inf"], "--angle"),
        (["evaluate", "--models", "/nonexistent/models"], "/nonexistent/models"),
        (
            ["blur", "--length", "0.1", "--data-dir", "/nonexistent/data"],
            "TFDS_DATA_DIR",
        ),
        (["evaluate", "--grid", "--lengths", "0.01,-0.02"], "lengths"),
        (["evaluate", "--grid", "--lengths", ""], "--lengths"),
        (["evaluate", "--grid", "--angles", "0,abc"], "--angles"),
        (["evaluate", "--grid", "--angles", "0,inf"], "--angles"),
        (["evaluate", "--grid", "--limit", "0"], "--limit"),
        (
            [
                *("train-encoder", "--checkpoint-dir", "checkpoints"),
                *("--output", "out", "--settling-temperature", "2"),
            ],
            "no settling to apply",
        ),
        (
            [
                *("train-encoder", "--settle-only", "--settling-epochs", "1"),
                *("--classifier-weight", "0.01", "--epochs", "3"),
                *("--checkpoint-dir", "checkpoints", "--output", "out"),
            ],
            "would not be used: --epochs, --classifier-weight",
        ),
        (
            [
                *("train-classifier", "--blur-clean-fraction", "0.5"),
                *("--checkpoint-dir", "checkpoints", "--output", "out"),
            ],
            "--blur-clean-fraction goes with --blur-max-length",
        ),
        (["evaluate", "--grid", "--models", "/nonexistent/models"], "/nonexistent"),
        (["predict", "--count", "2"], "exactly one of"),
        (["predict", "--local", "/nonexistent/export"], "/nonexistent/export"),
        (["predict", "--rest", "localhost"], "HOST:PORT"),
        (["predict", "--local", SHIPPED_EXPORT, "--length", "0.1"], "no blur setting"),
        (
            ["predict", "--local", SHIPPED_EXPORT, "--signature", "blur_and_defend"],
            "needs a blur length and angle",
        ),
        (
            ["predict", "--local", SHIPPED_EXPORT, "/nonexistent.png"],
            "/nonexistent.png",
        ),
        (
            ["export", "--models", "/nonexistent/models", "--output", "export"],
            "/nonexistent/models",
        ),
        (
            ["export", "--serving-base-path", "relative/path", "--output", "export"],
            "absolute",
        ),
    ],
)
def test_bad_input_is_one_line_without_traceback(tmp_path, arguments, needle):
    completed = subprocess.run(
        [sys.executable, os.path.join(REPOSITORY, "cli.py"), *arguments],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    error_lines = [
        line for line in completed.stderr.splitlines() if line.startswith("Error")
    ]
    assert len(error_lines) == 1, completed.stderr
    assert needle in error_lines[0]
    assert not list(tmp_path.iterdir())  # nothing half-written


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


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (["--grid", "--methods", "none,magic"], "Methods are none"),
        (["--grid", "--methods", "gated"], "encoder_blur.keras"),
        (["--grid", "--blur", "spatial"], "--blur spatial goes with --methods"),
        (["--methods", "none"], "--methods goes with --grid"),
        (["--grid", "--refine-steps", "3"], "--refine-steps goes with --methods"),
        (["--grid", "--methods", "none", "--refine-steps", "-1"], "--refine-steps"),
        # A folder without its own close-call margin cannot run in bfloat16.
        (["--precision", "bfloat16"], "has no bf16_margin.json"),
    ],
)
def test_bad_methods_requests_are_one_line(tiny_models_dir, arguments, needle):
    result = CliRunner().invoke(
        cli.main,
        ["evaluate", "--models", str(tiny_models_dir), "--limit", "5", *arguments],
    )
    assert result.exit_code != 0
    assert needle in result.output
    assert "Traceback" not in result.output


# --- Faults a new user hit, each checked as the user meets it. ---


def _run_cli(arguments, cwd, report_tensorflow=False):
    """Runs cli.py in a process of its own; with `report_tensorflow`, its
    last line of stdout says whether it imported TensorFlow."""
    command = [os.path.join(REPOSITORY, "cli.py"), *arguments]
    if report_tensorflow:
        command = ["-c", _REPORTS_TENSORFLOW, *command]
    return subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        check=False,
    )


# Runs the CLI script given as its first argument and, as the process exits,
# prints whether TensorFlow was imported (a check that fails at once must not
# wait seconds for it).
_REPORTS_TENSORFLOW = """
import atexit, runpy, sys
atexit.register(lambda: print("tensorflow imported:", "tensorflow" in sys.modules))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.mark.parametrize(
    ("arguments", "is_folder"),
    [
        (["evaluate", "--limit", "5", "--json"], False),
        (["evaluate", "--grid", "--limit", "5", "--csv"], False),
        (["evaluate", "--grid", "--limit", "5", "--figures"], True),
        (["blur", "--length", "0.1", "--output"], False),
        (["export", "--limit", "5", "--output"], True),
    ],
)
def test_an_unwritable_output_fails_before_any_work_naming_it(
    tmp_path, arguments, is_folder
):
    # Beneath a regular file nothing can be written, root or not. The models
    # folder holds no networks either: the output is checked first.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = str(blocker / ("out" if is_folder else "out.json"))
    no_networks = os.path.join(REPOSITORY, "tests")
    completed = _run_cli([*arguments, target, "--models", no_networks]
                         if arguments[0] != "blur" else [*arguments, target],
                         tmp_path, report_tensorflow=True)  # fmt: skip
    assert completed.returncode != 0
    # `evaluate` used to check its outputs only after importing TensorFlow.
    assert completed.stdout.splitlines()[-1] == "tensorflow imported: False"
    assert "Traceback" not in completed.stderr
    errors = [
        line for line in completed.stderr.splitlines() if line.startswith("Error")
    ]
    assert len(errors) == 1, completed.stderr
    assert target in errors[0]
    assert ".tmp" not in errors[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]


def test_an_output_path_that_is_a_folder_is_refused(tmp_path):
    completed = _run_cli(
        ["evaluate", "--limit", "5", "--json", str(tmp_path)], tmp_path
    )
    assert completed.returncode != 0
    errors = [
        line for line in completed.stderr.splitlines() if line.startswith("Error")
    ]
    assert len(errors) == 1
    assert str(tmp_path) in errors[0]
    assert "is a directory" in errors[0]


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        (["evaluate", "--csv", "x.csv"], "--csv goes with --grid"),
        (["evaluate", "--figures", "figures"], "--figures goes with --grid"),
        (["evaluate", "--lengths", "0.1"], "--lengths goes with --grid"),
        (["evaluate", "--angles", "0"], "--angles goes with --grid"),
        (["evaluate", "--length-scale", "6"], "--length-scale goes with --grid"),
        (["evaluate", "--logdir", "logs"], "--logdir goes with --grid"),
        (["blur", "--length", "1e30"], "in [0, 1]"),
        (["blur", "--length", "0.1", "--angle", "720"], "in [-360, 360]"),
        (
            ["evaluate", "--grid", "--lengths", "0.5", "--length-scale", "6"],
            "at most 1",
        ),
        (["evaluate", "--grid", "--lengths", "0.01,-0.02"], "lengths"),
        (["evaluate", "--grid", "--length-scale", "-1"], "length_scale"),
        (["evaluate", "--grid", "--angles", "0,400"], "angles"),
        (["blur", "--length", "-0.1"], "--length"),
        (["evaluate", "--dataset", "cifar10"], "--dataset"),
        (
            ["evaluate", "--dataset", "fashion_mnist", "--models", SAVED_MODELS],
            "trained on mnist",
        ),
        (
            ["export", "--dataset", "fashion_mnist", "--models", SAVED_MODELS],
            "pass --dataset mnist",
        ),
        (["evaluate", "--models", "/nonexistent/models"], "/nonexistent/models"),
        (
            ["predict", "--local", SHIPPED_EXPORT, "/nonexistent.png"],
            "/nonexistent.png",
        ),
        (["predict", "--local", SHIPPED_EXPORT, "--length", "0.1"], "no blur setting"),
        (["predict", "--count", "2"], "exactly one of"),
        (["predict", "--local", "/nonexistent/export"], "/nonexistent/export"),
        (
            ["predict", "--local", SHIPPED_EXPORT, "--signature", "blur_and_defend"],
            "needs a blur length and angle",
        ),
        (
            ["predict", "--local", SHIPPED_EXPORT, "--dataset", "fashion_mnist"],
            "holds mnist's networks: pass --dataset mnist",
        ),
        (
            [
                *("predict", "--local", SHIPPED_EXPORT, "--count", "3"),
                os.path.join(
                    REPOSITORY, "docs", "fashion_mnist", "encoder_settling.png"
                ),
            ],
            "--count goes without PNG files",
        ),
    ],
)
def test_bad_options_exit_2_before_tensorflow_is_imported(arguments, needle):
    # In a fresh interpreter, so that nothing else has imported TensorFlow.
    script = textwrap.dedent(
        f"""
        import sys
        from click.testing import CliRunner
        import cli
        result = CliRunner().invoke(cli.main, {arguments!r})
        print(result.exit_code, "tensorflow" in sys.modules)
        print(result.output)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=120,
        check=True,
    )
    status, output = completed.stdout.split("\n", 1)
    assert status == "2 False", completed.stdout
    assert needle in output
    assert "Traceback" not in output


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


def test_a_corrupt_keras_file_is_reported_as_corrupt(tmp_path, tiny_models_dir):
    classifier = tiny_models_dir / "classifier.keras"
    classifier.write_bytes(classifier.read_bytes()[:2000])
    result = CliRunner().invoke(
        cli.main, ["evaluate", "--models", str(tiny_models_dir), "--limit", "5"]
    )
    assert result.exit_code == 1
    assert f"{classifier}: the file is corrupt or not a Keras archive" in result.output
    assert "not found" not in result.output


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


def test_predict_locally_on_a_labelled_folder_in_batches(tmp_path, mnist_test):
    folder = tmp_path / "mine"
    for index in range(7):
        label_folder = folder / str(mnist_test.labels[index])
        label_folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mnist_test.images[index, :, :, 0]).save(
            label_folder / f"{index}.png"
        )
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
