"""Tests of `ResumableCheckpoint` on folders written by other hands: copied,
kept in `training_state/`, or with their index rewritten."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from egan_tf.training.checkpoints import ResumableCheckpoint

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _saved_at_step(folder, step):
    """A checkpoint folder holding one checkpoint at `step`, with the index
    TensorFlow writes (paths and timestamps)."""
    state = ResumableCheckpoint(str(folder))
    state.step.assign(step)
    path = state.save()
    state.lock.release()
    return path


def _rewrite_index_without_timestamps(folder, names):
    """The index as a person or a script writes it: the paths alone, as in
    `tf.train.CheckpointState`'s text format."""
    with open(os.path.join(folder, "checkpoint"), "w", encoding="utf-8") as handle:
        handle.write(f'model_checkpoint_path: "{names[-1]}"\n')
        for name in names:
            handle.write(f'all_model_checkpoint_paths: "{name}"\n')


def test_an_index_without_timestamps_is_still_restored(tmp_path):
    # tf.train.CheckpointManager lists only checkpoints newer than the
    # index's last preserved timestamp, so an index without timestamps (as
    # `experiments/keep_training_state.py` wrote it) listed none, and the
    # run silently started again from step 0.
    folder = tmp_path / "run"
    _saved_at_step(folder, 1390)
    _rewrite_index_without_timestamps(folder, ["ckpt-1390"])
    state = ResumableCheckpoint(str(folder))
    restored = state.restore_latest()
    assert restored == os.path.join(str(folder), "ckpt-1390")
    assert int(state.step.numpy()) == 1390


def test_a_folder_with_checkpoints_but_none_readable_is_refused(tmp_path):
    # Starting again from step 0 beside an unreadable checkpoint would
    # overwrite a long run's place without a word.
    folder = tmp_path / "run"
    path = _saved_at_step(folder, 7)
    with open(f"{path}.index", "wb") as handle:
        handle.write(b"not a checkpoint index")
    state = ResumableCheckpoint(str(folder))
    with pytest.raises(ValueError, match="no checkpoint in it could be read"):
        state.restore_latest()


def test_a_kept_training_state_resumes_where_it_stopped(tmp_path):
    stage = tmp_path / "work" / "encoder_blur"
    for step in (375, 750):
        _saved_at_step(stage / "fold_0", step)
    kept = tmp_path / "training_state" / "encoder_blur"
    subprocess.run(
        [
            sys.executable,
            os.path.join(REPOSITORY, "experiments", "keep_training_state.py"),
            str(stage),
            str(kept),
        ],
        check=True,
        capture_output=True,
    )
    assert sorted(os.listdir(kept / "fold_0")) == [
        "checkpoint",
        "ckpt-750.data-00000-of-00001",
        "ckpt-750.index",
    ]
    state = ResumableCheckpoint(str(kept / "fold_0"))
    state.restore_latest()
    assert int(state.step.numpy()) == 750
    # The next save keeps the kept checkpoint's place in the index.
    state.step.assign(1125)
    state.save()
    assert tf.train.get_checkpoint_state(
        str(kept / "fold_0")
    ).model_checkpoint_path.endswith("ckpt-1125")
