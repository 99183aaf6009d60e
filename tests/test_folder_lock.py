"""Tests of the checkpoint folder's lock, with a real second process."""

import contextlib
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import interrupting

import cli
from egan_tf.config import TrainingConfig
from egan_tf.data import ImageArrays
from egan_tf.errors import FolderInUseError, TrainingInterrupted
from egan_tf.folder_lock import FolderLock

# A second process that takes the lock, says so, and holds it until its
# standard input closes. No TensorFlow: it starts in a fraction of a second.
_HOLDER = (
    "import sys\n"
    "from egan_tf.folder_lock import FolderLock\n"
    "lock = FolderLock(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
)


@contextlib.contextmanager
def _lock_held_by_another_process(folder):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_folder_another_process_holds_is_refused_naming_it(tmp_path):
    with (
        _lock_held_by_another_process(tmp_path) as holder,
        pytest.raises(FolderInUseError) as raised,
    ):
        FolderLock(str(tmp_path))
    message = str(raised.value)
    assert str(tmp_path) in message
    assert f"pid {holder.pid}" in message
    assert "\n" not in message


def test_the_lock_is_free_once_its_process_is_killed(tmp_path):
    with _lock_held_by_another_process(tmp_path) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        lock = FolderLock(str(tmp_path))
    assert lock.held
    lock.release()
    lock.release()
    assert not lock.held


def test_one_process_may_take_its_folder_again(tmp_path):
    first = FolderLock(str(tmp_path))
    second = FolderLock(str(tmp_path))
    assert first.held
    assert second.held
    with open(tmp_path / ".lock", encoding="utf-8") as handle:
        assert handle.read().strip() == str(os.getpid())


def test_a_second_training_run_into_one_folder_is_one_line_and_writes_nothing(
    tmp_path,
):
    # "Rerun the same command to resume" invites a second terminal while the
    # first run trains; the two used to overwrite each other's checkpoints.
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    arguments = ["train-classifier", "--epochs", "1", "--limit", "64", "--quiet"]
    with _lock_held_by_another_process(checkpoints) as holder:
        result = CliRunner().invoke(
            cli.main,
            [
                *arguments,
                *("--checkpoint-dir", str(checkpoints)),
                *("--output", str(tmp_path / "models")),
            ],
        )
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert errors == [line for line in result.output.splitlines() if line.strip()], (
        result.output
    )
    assert (
        f"Another process (pid {holder.pid}) is training into {checkpoints}"
        in (errors[0])
    )
    assert sorted(os.listdir(checkpoints)) == [".lock"]
    assert not (tmp_path / "models").exists()


def _mean_pixel_step(images, labels, seed, global_batch_size):
    """A replica step with nothing to train: the loop's bookkeeping alone."""
    import tensorflow as tf

    del labels, seed
    return {
        "mean": tf.reduce_sum(tf.reduce_mean(images, axis=[1, 2, 3]))
        / tf.cast(global_batch_size, tf.float32)
    }


@pytest.mark.parametrize("interrupted", [False, True], ids=["finished", "interrupted"])
def test_a_run_lets_its_folder_go_when_it_ends_though_its_state_lives(
    tmp_path, monkeypatch, interrupted
):
    # A run's state can outlive the run (a notebook keeps it; reference
    # cycles keep it until the collector runs). The lock used to live as long,
    # so that a second process was refused a folder nobody trained into, and
    # collecting the state later, while a newer run of the same process held
    # the folder, dropped that run's lock too (a POSIX lock is the process's).
    from egan_tf.training import loop as loop_module
    from egan_tf.training.checkpoints import ResumableCheckpoint
    from egan_tf.training.runtime import Runtime

    if interrupted:
        monkeypatch.setattr(
            loop_module,
            "compile_train_step",
            interrupting(loop_module.compile_train_step, at_call=2),
        )
    state = ResumableCheckpoint(str(tmp_path))
    loop = loop_module.EpochLoop(
        stage="toy",
        state=state,
        arrays=ImageArrays(np.zeros([8, 28, 28, 1], np.uint8), np.zeros([8], np.int64)),
        config=TrainingConfig(epochs=1, batch_size=4),
        train_step=_mean_pixel_step,
        runtime=Runtime.create(),
        show_progress=False,
    )
    if interrupted:
        with pytest.raises(TrainingInterrupted):
            loop.run()
    else:
        loop.run()
    assert not state.lock.held
    with pytest.raises(ValueError, match="lock was released"):
        state.save()
    with _lock_held_by_another_process(tmp_path) as holder:
        assert holder.poll() is None


def test_a_stop_during_an_epoch_s_validation_keeps_the_epoch_s_row(tmp_path):
    # SIGTERM used to stop the run inside the epoch's validation: the state
    # saved on the way out was past the epoch, whose row was never written,
    # so a resumed run's history missed it (Fashion-MNIST's E fold 2 lost its
    # epoch 3 so).
    from egan_tf.training import loop as loop_module
    from egan_tf.training.checkpoints import ResumableCheckpoint
    from egan_tf.training.runtime import Runtime

    def validation(epoch):
        if epoch == 0:
            os.kill(os.getpid(), signal.SIGTERM)
        return {"validation": float(epoch)}

    def run():
        state = ResumableCheckpoint(str(tmp_path))
        state.restore_latest()
        return loop_module.EpochLoop(
            stage="toy",
            state=state,
            arrays=ImageArrays(
                np.zeros([8, 28, 28, 1], np.uint8), np.zeros([8], np.int64)
            ),
            config=TrainingConfig(epochs=3, batch_size=4),
            train_step=_mean_pixel_step,
            runtime=Runtime.create(),
            epoch_hook=validation,
            show_progress=False,
        ).run()

    with pytest.raises(TrainingInterrupted):
        run()
    history = run()
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert [row["validation"] for row in history] == [0.0, 1.0, 2.0]
