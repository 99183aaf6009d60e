"""`reproduce --jobs`: stages in processes of their own, each started once the
networks it needs are made. The end-to-end tests run real stage processes on
256 training images."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from conftest import REPOSITORY

import cli
from egan_tf.data_paths import DataSource
from egan_tf.execution import ExecutionConfig
from egan_tf.training.stage_jobs import (
    StageJobsRequest,
    ready_stages,
    stages_waiting_for,
    threads_for_stage,
    threads_per_job,
)
from egan_tf.training.stages import (
    FOLD_METRICS_FILE,
    ReproduceStage,
    folds_left,
    parse_stages,
)


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"")


def test_a_stage_waits_for_the_networks_it_needs(tmp_path):
    every_stage = list(ReproduceStage)
    # Nothing is made yet: only the stages that need no network may start.
    assert ready_stages(every_stage, set(), str(tmp_path)) == list(
        parse_stages(
            "classifier,gan,classifier_augment,classifier_mixture,blur_estimator"
        )
    )
    # A network on disk that a pending or running stage makes again is not
    # made yet.
    _touch(tmp_path, "classifier.keras", "generator.keras")
    pending = parse_stages("encoder,encoder_blur,bf16_margin")
    assert ready_stages(list(pending), {ReproduceStage.GAN}, str(tmp_path)) == [
        ReproduceStage.BF16_MARGIN
    ]
    assert ready_stages(list(pending), set(), str(tmp_path)) == [
        ReproduceStage.ENCODER,
        ReproduceStage.BF16_MARGIN,
    ]


def test_a_stage_nothing_can_join_gets_every_core():
    stage = ReproduceStage
    assert stages_waiting_for(
        stage.ENCODER, [stage.ENCODER_BLUR, stage.DEFENSE, stage.BF16_MARGIN]
    ) == {stage.ENCODER_BLUR, stage.DEFENSE}
    # The last stage, alone: the other slot's cores would idle for its run.
    assert threads_for_stage(stage.DEFENSE, [], 0, jobs=2, cores=4) == 4
    # C's bfloat16 margin needs only C, so it may start beside the defence.
    assert threads_for_stage(stage.DEFENSE, [stage.BF16_MARGIN], 0, 2, 4) == 2
    assert threads_for_stage(stage.DEFENSE, [], 1, 2, 4) == 2
    # Every pending stage needs G, so nothing can join the GAN.
    pending = [stage.ENCODER, stage.ENCODER_BLUR, stage.DEFENSE]
    assert threads_for_stage(stage.GAN, pending, 0, 2, 4) == 4
    # A helper may take a fold stage's folds while it has two or more left.
    assert threads_for_stage(stage.ENCODER, pending[1:], 0, 2, 4, folds_left=5) == 2
    assert threads_for_stage(stage.ENCODER, pending[1:], 0, 2, 4, folds_left=1) == 4


def test_a_fold_stage_s_folds_left_are_read_from_its_records(tmp_path):
    stage = ReproduceStage
    assert folds_left(stage.ENCODER, "mnist", str(tmp_path)) == 5
    # Fashion-MNIST's E_blur trains one fold (defaults.BLUR_ENCODER_MAX_FOLDS).
    assert folds_left(stage.ENCODER_BLUR, "fashion_mnist", str(tmp_path)) == 1
    assert folds_left(stage.DEFENSE, "mnist", str(tmp_path)) == 0
    # A fold is finished once it has its record and its encoder.
    (tmp_path / FOLD_METRICS_FILE).write_text(json.dumps({"0": {}, "1": {}, "3": {}}))
    _touch(tmp_path, "fold_0.keras", "fold_3.keras")
    assert folds_left(stage.ENCODER, "mnist", str(tmp_path)) == 3
    assert threads_for_stage(stage.DEFENSE, [], 0, jobs=1, cores=4) == 4


@pytest.mark.parametrize(
    ("jobs", "execution", "message"),
    [
        (0, ExecutionConfig(), "jobs must be at least 1. Received: jobs=0"),
        (
            2,
            ExecutionConfig(strategy="mirrored"),
            "takes --strategy default. Received: jobs=2, strategy=mirrored",
        ),
    ],
)
def test_a_request_the_jobs_cannot_run_is_refused(tmp_path, jobs, execution, message):
    with pytest.raises(ValueError, match=message):
        StageJobsRequest(
            str(tmp_path), str(tmp_path), DataSource(), (ReproduceStage.GAN,), jobs,
            execution=execution,
        )  # fmt: skip


def _reproduce_arguments(tmp_path, small_mnist_dir, stages, max_epochs=None):
    # Where the order of the stages is what is checked, not their schedules,
    # each is capped at `max_epochs` (which a helper process must share).
    capped = [] if max_epochs is None else ["--max-epochs", str(max_epochs)]
    return [
        "reproduce", "--jobs", "2", "--stages", stages, "--data-dir", small_mnist_dir,
        "--models", str(tmp_path / "models"), "--work-dir", str(tmp_path / "work"),
        *capped,
    ]  # fmt: skip


def test_two_stages_run_at_once_and_a_third_waits_for_its_network(
    tmp_path, small_mnist_dir
):
    result = CliRunner().invoke(
        cli.main,
        _reproduce_arguments(
            tmp_path,
            small_mnist_dir,
            "classifier,classifier_augment,bf16_margin",
            max_epochs=2,
        ),
    )
    assert result.exit_code == 0, result.output
    events = [
        " ".join(match)
        for match in re.findall(r"(started|finished) (\w+)[ ;]", result.output)
    ]
    # C and C_aug need nothing and start together; bf16_margin needs C.
    assert events[:2] == ["started classifier", "started classifier_augment"]
    shared = threads_per_job(2)
    assert (
        f"classifier.log; {shared} thread(s)); running: classifier\n" in result.output
    )
    assert events.index("started bf16_margin") > events.index("finished classifier")
    assert len(events) == 6
    for name in ("classifier.keras", "classifier_augment.keras", "bf16_margin.json"):
        assert (tmp_path / "models" / name).is_file()
    for stage in ("classifier", "classifier_augment", "bf16_margin"):
        assert (tmp_path / "work" / f"{stage}.log").is_file()
    headline = result.output.strip().splitlines()[-1]
    assert headline.startswith("classifier ")
    assert "bf16_margin " in headline


def test_a_free_slot_helps_train_the_encoder_s_folds(
    tmp_path, small_mnist_dir, tiny_models_dir
):
    # The tiny C and G are in tmp_path / "models", where the stage reads them.
    result = CliRunner().invoke(
        cli.main,
        _reproduce_arguments(tmp_path, small_mnist_dir, "encoder", max_epochs=4),
    )
    assert result.exit_code == 0, result.output
    assert "started encoder's fold helper (log: " in result.output
    assert "finished encoder's fold helper in " in result.output
    helper_log = (tmp_path / "work" / "encoder.helper.log").read_text()
    (trained,) = re.findall(r"Trained fold\(s\) ([\d, ]+) of encoder", helper_log)
    helped = {int(fold) for fold in trained.split(", ")}
    card = json.loads((tiny_models_dir / "encoder.json").read_text())
    # The card has every fold once, some of them trained by the helper.
    assert [record["fold"] for record in card["folds"]] == [0, 1, 2, 3, 4]
    assert card["training"]["epochs"] == 4
    assert helped
    assert helped < {0, 1, 2, 3, 4}


def test_a_failed_stage_is_one_line_naming_its_log(tmp_path, small_mnist_dir):
    models = tmp_path / "models"
    models.mkdir()
    (models / "classifier.keras").write_bytes(b"not a Keras file")
    result = CliRunner().invoke(
        cli.main, _reproduce_arguments(tmp_path, small_mnist_dir, "bf16_margin")
    )
    assert result.exit_code == 1
    (error,) = [line for line in result.output.splitlines() if "Error" in line]
    assert error.startswith("Error: Stage bf16_margin failed: ")
    assert str(tmp_path / "work" / "bf16_margin.log") in error
    # The stage's own one-line reason, not a traceback's last line.
    assert "failed: Cannot load " in error
    assert "classifier.keras" in error
    assert "Traceback" not in result.output


def test_sigterm_stops_every_stage_after_its_checkpoint(tmp_path, small_mnist_dir):
    parent = subprocess.Popen(
        [
            sys.executable,
            os.path.join(REPOSITORY, "cli.py"),
            *_reproduce_arguments(tmp_path, small_mnist_dir, "gan"),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The GAN's 300 epochs take minutes. Once its first epoch's checkpoint
    # is written, the stage is in its loop, which saves on SIGTERM.
    started = time.monotonic()
    while not (tmp_path / "work" / "gan" / "checkpoint").is_file():
        assert parent.poll() is None, parent.communicate()
        assert time.monotonic() - started < 300
        time.sleep(0.5)
    parent.send_signal(signal.SIGTERM)
    output, errors = parent.communicate(timeout=300)
    assert parent.returncode == 130, (output, errors)
    assert "Interrupted; the running stages (gan) saved checkpoints" in errors
    assert "Training interrupted at step" in (tmp_path / "work" / "gan.log").read_text()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(40.2, "40 s"), (750, "12.5 min"), (11520, "3.20 h")],
)
def test_a_stage_s_time_is_printed_in_a_readable_unit(seconds, text):
    from egan_tf.commands.reproduce import format_duration

    assert format_duration(seconds) == text
