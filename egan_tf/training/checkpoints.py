"""Resumable checkpoints that survive a killed process."""

from __future__ import annotations

import logging
import os
import time

import tensorflow as tf

logger = logging.getLogger(__name__)

_MAX_TO_KEEP = 3


class ResumableCheckpoint:
    """Models, optimizers, the step and the data position in one checkpoint.

    The counters are `step` (optimizer steps taken), `epoch` (epochs finished)
    and `batch` (batches finished inside the current epoch). Together with a
    seeded per-epoch data order they let a rerun continue exactly where the
    previous process stopped.

    Args:
        directory: Folder of the checkpoints; created when missing.
        **trackables: Models, optimizers and other trackable objects to save.
    """

    def __init__(self, directory: str, **trackables):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch")
        # Wall time summed over every process that worked on this run.
        self.elapsed_seconds = tf.Variable(
            0.0, dtype=tf.float64, trainable=False, name="elapsed_seconds"
        )
        self._session_start = time.monotonic()
        self.checkpoint = tf.train.Checkpoint(
            step=self.step,
            epoch=self.epoch,
            batch=self.batch,
            elapsed_seconds=self.elapsed_seconds,
            **trackables,
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, directory, max_to_keep=_MAX_TO_KEEP
        )

    def restore_latest(self) -> str | None:
        """Restores the newest readable checkpoint.

        A corrupt or truncated checkpoint is reported on the log and skipped in
        favour of the one before it.

        Returns:
            The path restored from, or None when there was none to restore.
        """
        for path in reversed(self.manager.checkpoints):
            try:
                # expect_partial: optimizer slots of frozen models are not saved.
                self.checkpoint.restore(path).expect_partial()
            # A truncated data file surfaces as IndexError ("Read less bytes").
            except (tf.errors.OpError, ValueError, IndexError) as error:
                logger.warning(
                    "Checkpoint %s is unreadable (%s); trying the previous one.",
                    path,
                    str(error).splitlines()[0],
                )
                continue
            self._session_start = time.monotonic()
            return path
        return None

    def update_elapsed(self) -> float:
        """Adds the wall time since the last update; returns the run's total."""
        now = time.monotonic()
        self.elapsed_seconds.assign_add(now - self._session_start)
        self._session_start = now
        return float(self.elapsed_seconds.numpy())

    def save(self) -> str:
        """Writes a new checkpoint numbered by the step counter."""
        self.update_elapsed()
        return self.manager.save(checkpoint_number=int(self.step.numpy()))
