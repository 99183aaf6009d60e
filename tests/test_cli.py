"""Tests of the click command line, in-process and as a real subprocess."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import REPOSITORY, SAVED_MODELS
from PIL import Image

sys.path.insert(0, REPOSITORY)
import cli


def test_help_lists_the_commands():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    for command in ("train-classifier", "train-gan", "evaluate", "blur"):
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
