"""Resumable checkpoints that survive a killed process."""

from __future__ import annotations

import logging
import os
import time

import keras
import tensorflow as tf

from egan_tf.folder_lock import FolderLock

logger = logging.getLogger(__name__)

_MAX_TO_KEEP = 3
# Room for the running sums of a train step's scalar metrics within an epoch.
MAX_METRICS = 16


def seed_generator_states(model: keras.Model) -> list:
    """The state variables of every Keras random-seed generator in `model`
    (dropout's, for one), in layer order.

    Keras does not put them in a `tf.train.Checkpoint` of the model, so a
    resumed run would draw other dropout masks than an uninterrupted one.
    """
    states = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            states += seed_generator_states(layer)
            continue
        states += [
            value.state
            for value in vars(layer).values()
            if isinstance(value, keras.random.SeedGenerator)
        ]
    return states


class ResumableCheckpoint:
    """Models, optimizers, the step and the data position in one checkpoint.

    The counters are `step` (optimizer steps taken), `epoch` (epochs finished)
    and `batch` (batches finished inside the current epoch). Together with a
    seeded per-epoch data order, the state of every random-seed generator of
    the models (dropout's) and the running metric sums of the current epoch,
    they let a rerun continue exactly where the previous process stopped: an
    interrupted and resumed run ends where an uninterrupted one does, on the
    same machine, to the last bit but for the rounding in which a process's
    first run sometimes differs (below 1e-6; tests/helpers.py).

    Args:
        directory: Folder of the checkpoints; created when missing.
        write_directory: Where `save` writes, when not `directory`: a worker
            other than the chief restores the chief's checkpoints and writes
            its own to a temporary folder.
        **trackables: Models, optimizers and other trackable objects to save.

    Raises:
        FolderInUseError: Another process is training into `write_directory`
            (`FolderLock`; this checkpoint holds it until `lock.release()`,
            which the epoch loop calls when its run ends, or until it is
            collected).
    """

    def __init__(
        self, directory: str, write_directory: str | None = None, **trackables
    ):
        write_directory = write_directory or directory
        os.makedirs(write_directory, exist_ok=True)
        self.lock = FolderLock(write_directory)
        self.directory = directory
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch")
        # Wall time summed over every process that worked on this run.
        self.elapsed_seconds = tf.Variable(
            0.0, dtype=tf.float64, trainable=False, name="elapsed_seconds"
        )
        # The sums of each metric over the batches of the current epoch so
        # far, in sorted metric-name order, and how many batches they cover.
        self.metric_sums = tf.Variable(
            tf.zeros([MAX_METRICS], tf.float64), trainable=False, name="metric_sums"
        )
        self.metric_batches = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="metric_batches"
        )
        self._session_start = time.monotonic()
        seed_states = [
            state
            for value in trackables.values()
            if isinstance(value, keras.Model)
            for state in seed_generator_states(value)
        ]
        self.checkpoint = tf.train.Checkpoint(
            step=self.step,
            epoch=self.epoch,
            batch=self.batch,
            elapsed_seconds=self.elapsed_seconds,
            metric_sums=self.metric_sums,
            metric_batches=self.metric_batches,
            seed_states=seed_states,
            **trackables,
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, write_directory, max_to_keep=_MAX_TO_KEEP
        )

    def _saved_paths(self) -> list[str]:
        """The checkpoints `directory`'s index lists, oldest first.

        Read from the index itself, not from the manager: the manager lists
        only checkpoints newer than the index's last preserved timestamp, so
        an index without timestamps (a folder copied by a script, or written
        by hand) would list none and the run would start again from step 0.
        """
        state = tf.train.get_checkpoint_state(self.directory)
        if state is None:
            return []
        paths = list(state.all_model_checkpoint_paths)
        if state.model_checkpoint_path and state.model_checkpoint_path not in paths:
            paths.append(state.model_checkpoint_path)
        return paths

    def restore_latest(self) -> str | None:
        """Restores the newest readable checkpoint.

        A corrupt or truncated checkpoint is reported on the log and skipped in
        favour of the one before it.

        Returns:
            The path restored from, or None when there was none to restore.

        Raises:
            ValueError: The folder's index lists checkpoints but none of them
                can be read: starting again from step 0 would silently give
                up the run's place.
        """
        paths = self._saved_paths()
        for path in reversed(paths):
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
        if paths:
            raise ValueError(
                f"The checkpoint folder lists {len(paths)} checkpoint(s) but no "
                "checkpoint in it could be read; move it away to start the run "
                f"again. Received: directory={self.directory}"
            )
        return None

    def update_elapsed(self) -> float:
        """Adds the wall time since the last update; returns the run's total."""
        now = time.monotonic()
        self.elapsed_seconds.assign_add(now - self._session_start)
        self._session_start = now
        return float(self.elapsed_seconds.numpy())

    def save(self) -> str:
        """Writes a new checkpoint numbered by the step counter.

        Raises:
            ValueError: The folder's lock was released: another process may
                be training into it.
        """
        if not self.lock.held:
            raise ValueError(
                "This checkpoint's folder lock was released when its run ended; "
                "a new run makes a new checkpoint. Received: "
                f"directory={self.lock.folder}"
            )
        self.update_elapsed()
        return self.manager.save(checkpoint_number=int(self.step.numpy()))
