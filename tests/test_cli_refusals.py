"""Tests of what the command line refuses: every bad input or option ends on
one `Error:` line, without a traceback and before any work or file is
written; most before TensorFlow is imported."""

import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from conftest import REPOSITORY, SAVED_MODELS

import cli

SHIPPED_EXPORT = os.path.join(SAVED_MODELS, "egan_defense")


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
        (
            ["predict", "--local", SHIPPED_EXPORT, "--resize"],
            "--resize goes with image files",
        ),
        (["evaluate", "--invert"], "--invert goes with --images"),
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
            "--count goes without image files",
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


def test_a_corrupt_keras_file_is_reported_as_corrupt(tmp_path, tiny_models_dir):
    classifier = tiny_models_dir / "classifier.keras"
    classifier.write_bytes(classifier.read_bytes()[:2000])
    result = CliRunner().invoke(
        cli.main, ["evaluate", "--models", str(tiny_models_dir), "--limit", "5"]
    )
    assert result.exit_code == 1
    assert f"{classifier}: the file is corrupt or not a Keras archive" in result.output
    assert "not found" not in result.output
