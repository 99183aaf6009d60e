"""The epoch loop shared by every training stage.

The loop owns what the train steps must not: data order, checkpoints, metrics,
TensorBoard summaries, the progress bar and clean interruption. Train steps are
pure `tf.function`s built by each stage's factory.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from collections.abc import Callable

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from egan_tf.atomic_files import write_json_atomically
from egan_tf.config import DataConfig, TrainingConfig, config_to_dict, save_configs
from egan_tf.data import ImageArrays, dataset_of
from egan_tf.errors import TrainingInterrupted
from egan_tf.execution import ExecutionConfig
from egan_tf.splits import epoch_order, num_batches
from egan_tf.training.checkpoints import MAX_METRICS, ResumableCheckpoint
from egan_tf.training.runtime import ReplicaStep, Runtime, TrainStep
from egan_tf.training.summaries import write_config_summary

# Called with the global step to write image summaries.
ImageHook = Callable[[int], None]
# Called after an epoch with its index; returns named scalar metrics.
EpochHook = Callable[[int], dict[str, float]]


@dataclasses.dataclass
class EpochLoop:
    """Runs epochs of one stage with checkpoints and summaries.

    Attributes:
        stage: Prefix of every scalar name, e.g. "gan" gives "gan/d_loss".
        state: Checkpoint of the models, optimizers and counters.
        arrays: Training examples.
        config: Epochs, batch size, seed and summary frequency.
        train_step: The stage's replica step (`runtime.ReplicaStep`), run on
            every replica of `runtime`'s strategy.
        runtime: The strategy, precision and XLA switch the step runs under.
        writer: TensorBoard writer, or None for no summaries.
        image_hook: Writes image summaries every `config.summary_every_steps`.
        epoch_hook: Runs validation after each epoch; its metrics are logged.
        show_progress: Whether to draw a progress bar per epoch.
        history: Metrics of every epoch of the run, the first included, kept
            in `HISTORY_FILE` beside the checkpoints, so that a run resumed
            in another process, or one that is already finished, still
            reports every epoch.
    """

    stage: str
    state: ResumableCheckpoint
    arrays: ImageArrays
    config: TrainingConfig
    train_step: ReplicaStep
    runtime: Runtime
    writer: tf.summary.SummaryWriter | None = None
    image_hook: ImageHook | None = None
    epoch_hook: EpochHook | None = None
    show_progress: bool = True
    history: list[dict[str, float]] = dataclasses.field(default_factory=list)

    def _write_scalars(self, metrics: dict[str, float], step: int) -> None:
        if self.writer is None:
            return
        with self.writer.as_default():
            for name, value in metrics.items():
                tf.summary.scalar(f"{self.stage}/{name}", value, step=step)

    def __post_init__(self):
        self._compiled_step = compile_train_step(self.runtime, self.train_step)
        self._history_path = os.path.join(self.state.directory, HISTORY_FILE)
        self.history = read_history(self.state.directory)
        self._stop = _StopRequest()

    def _record_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        # Keyed by epoch, so that an epoch run again after a crash between
        # this write and the checkpoint replaces its entry.
        self.history = [row for row in self.history if row["epoch"] != epoch + 1]
        self.history.append({"epoch": epoch + 1, **metrics})
        path = self.runtime.writable(self._history_path)
        write_json_atomically(
            path, {str(row["epoch"]): _without_epoch(row) for row in self.history}
        )

    def _run_batches(self, epoch: int) -> list[str]:
        """Runs the epoch's batches not yet run; returns the step's metric
        names."""
        state, config = self.state, self.config
        order = epoch_order(len(self.arrays), config.seed, epoch)
        total = num_batches(len(order), config.batch_size)
        start_batch = int(state.batch.numpy())
        names: list[str] = []
        bar = tqdm(
            total=total,
            initial=start_batch,
            desc=f"{self.stage} epoch {epoch + 1}/{config.epochs}",
            disable=not self.show_progress,
            leave=False,
            dynamic_ncols=True,
        )
        with bar:
            for images, labels, global_batch_size in self.runtime.distributed_batches(
                self.arrays, order, config.batch_size, start_batch
            ):
                step = int(state.step.numpy())
                seed = tf.constant([config.seed, step], dtype=tf.int64)
                outputs = self._compiled_step(images, labels, seed, global_batch_size)
                metrics = {name: float(value) for name, value in outputs.items()}
                names = sorted(metrics)
                if len(names) > MAX_METRICS:
                    raise ValueError(
                        f"A train step may return at most {MAX_METRICS} metrics. "
                        f"Received: metrics={names}"
                    )
                # The running sums live in the checkpoint, so that an epoch
                # resumed mid-way still averages over all of its batches.
                state.metric_sums[: len(names)].assign(
                    state.metric_sums[: len(names)]
                    + tf.constant([metrics[name] for name in names], tf.float64)
                )
                state.metric_batches.assign_add(1)
                state.step.assign_add(1)
                state.batch.assign_add(1)
                if step % config.log_every_steps == 0:
                    self._write_scalars(metrics, step)
                if (
                    self.image_hook is not None
                    and step % config.summary_every_steps == 0
                ):
                    self.image_hook(step)
                bar.set_postfix(
                    {name: f"{value:.4f}" for name, value in metrics.items()}
                )
                bar.update(1)
                self._stop.raise_if_asked()
        return names

    def _finish_epoch(self, epoch: int, names: list[str]) -> dict[str, float]:
        """The epoch's mean metrics and its validation; moves the state on to
        the next epoch."""
        state = self.state
        count = max(int(state.metric_batches.numpy()), 1)
        sums = state.metric_sums.numpy()
        epoch_metrics = {
            f"epoch_{name}": float(sums[index]) / count
            for index, name in enumerate(names)
        }
        state.epoch.assign_add(1)
        state.batch.assign(0)
        state.metric_sums.assign(tf.zeros_like(state.metric_sums))
        state.metric_batches.assign(0)
        if self.epoch_hook is not None:
            epoch_metrics.update(self.epoch_hook(epoch))
        self._write_scalars(epoch_metrics, int(state.step.numpy()))
        return epoch_metrics

    def run(self) -> list[dict[str, float]]:
        """Trains until `config.epochs` epochs are done, resuming from the state.

        The state's folder lock is released when the run ends, and the state
        saves no more: a later run makes a new one.

        Returns:
            One dict of metrics per epoch of the run, with its 1-based
            "epoch": those of earlier processes too (`history`).

        Raises:
            TrainingInterrupted: On Ctrl-C or SIGTERM, after saving a checkpoint.
        """
        previous_handlers = {
            number: signal.getsignal(number)
            for number in (signal.SIGTERM, signal.SIGINT)
        }
        # SIGTERM is how schedulers stop jobs; treat it like Ctrl-C. A process
        # started in the background inherits SIGINT ignored, and Python then
        # keeps it ignored; Ctrl-C must still save and stop. The handler only
        # asks: a KeyboardInterrupt raised wherever the signal lands could
        # break out of TensorFlow's graph lock while a dataset is traced, and
        # the next trace then waited on that lock forever (seen under load).
        self._stop = _StopRequest()
        signal.signal(signal.SIGTERM, self._stop.ask)
        signal.signal(signal.SIGINT, self._stop.ask)
        outer = tqdm(
            total=self.config.epochs,
            initial=int(self.state.epoch.numpy()),
            desc=f"{self.stage} epochs",
            disable=not self.show_progress,
            dynamic_ncols=True,
        )
        try:
            with outer:
                while int(self.state.epoch.numpy()) < self.config.epochs:
                    self._stop.raise_if_asked()
                    epoch = int(self.state.epoch.numpy())
                    names = self._run_batches(epoch)
                    # A stop asked for while the epoch is being finished
                    # waits until its row and checkpoint are written:
                    # stopping in its validation saved a state past the
                    # epoch whose row was never written.
                    metrics = self._finish_epoch(epoch, names)
                    # The history is written before the checkpoint: a crash
                    # between the two re-runs the epoch, never loses its row.
                    self._record_epoch(epoch, metrics)
                    self.state.save()
                    self._stop.raise_if_asked()
                    outer.set_postfix(
                        {name: f"{value:.4f}" for name, value in metrics.items()}
                    )
                    outer.update(1)
        except KeyboardInterrupt:
            path = self.state.save()
            raise TrainingInterrupted(path, int(self.state.step.numpy())) from None
        finally:
            for number, handler in previous_handlers.items():
                signal.signal(number, handler)
            if self.writer is not None:
                self.writer.flush()
            # The folder is free once the run ends, however it ends, not once
            # its state is collected: a notebook may keep the state, and
            # collecting it while a later run of this process trains into the
            # folder would drop that run's lock too (a POSIX lock belongs to
            # the process).
            self.state.lock.release()
        return self.history


HISTORY_FILE = "history.json"


def _without_epoch(row: dict) -> dict:
    return {name: value for name, value in row.items() if name != "epoch"}


def read_history(checkpoint_dir: str) -> list[dict[str, float]]:
    """The per-epoch metrics that `EpochLoop` kept in `checkpoint_dir`.

    Returns:
        One dict per finished epoch, in epoch order, each with its 1-based
        "epoch"; empty when the run has none on record.
    """
    path = os.path.join(checkpoint_dir, HISTORY_FILE)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        by_epoch = json.load(handle)
    return [
        {"epoch": int(epoch), **by_epoch[epoch]} for epoch in sorted(by_epoch, key=int)
    ]


def compile_train_step(runtime: Runtime, replica_step: ReplicaStep) -> TrainStep:
    """The compiled step the loop calls once per global batch (see
    `Runtime.compile_step`)."""
    return runtime.compile_step(replica_step)


class _StopRequest:
    """A stop asked for by SIGINT or SIGTERM, acted on where the loop can
    stop safely: between steps and between epochs."""

    def __init__(self):
        self.asked = False

    def ask(self, signum, frame):
        del signum, frame
        self.asked = True

    def raise_if_asked(self) -> None:
        if self.asked:
            raise KeyboardInterrupt


def summary_writer(logdir: str | None) -> tf.summary.SummaryWriter | None:
    """A TensorBoard writer for `logdir`, or None when no logdir is given."""
    return tf.summary.create_file_writer(logdir) if logdir else None


RUN_CONFIG_FILE = "config.json"
# Fields a resumed run may change: how often it logs, and how long it runs
# (unless the learning-rate schedule is spread over the epochs).
# The strategy and XLA may change too: a run started on one machine may go on
# over several; the precision may not.
_LOGGING_FIELDS = (
    "training.summary_every_steps",
    "training.log_every_steps",
    "execution.strategy",
    "execution.jit",
)
_LENGTH_FIELD = "training.epochs"


def _flatten(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def check_resumable(
    checkpoint_dir: str, configs: dict, epochs_set_schedule: bool = False
) -> None:
    """Refuses to continue a run in `checkpoint_dir` with other settings.

    Args:
        checkpoint_dir: A run's folder; a `config.json` there means a run
            was started in it.
        configs: This run's configs by name.
        epochs_set_schedule: Whether the learning-rate schedule depends on
            the number of epochs (a cosine decay over the run does), so that
            a resumed run may not change it either.

    Raises:
        ValueError: One line naming the first field that differs.
    """
    path = os.path.join(checkpoint_dir, RUN_CONFIG_FILE)
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as handle:
        # Runs recorded before the execution settings and the data set
        # existed ran on their defaults.
        saved = _flatten(
            {
                "execution": config_to_dict(ExecutionConfig()),
                "data": config_to_dict(DataConfig()),
                **json.load(handle),
            }
        )
    wanted = _flatten(
        {name: config_to_dict(config) for name, config in configs.items()}
    )
    free = set(_LOGGING_FIELDS) | (set() if epochs_set_schedule else {_LENGTH_FIELD})
    for name in sorted(set(saved) | set(wanted)):
        if name in free or saved.get(name) == wanted.get(name):
            continue
        raise ValueError(
            f"Cannot resume the run in {checkpoint_dir}: its {RUN_CONFIG_FILE} has "
            f"{name}={saved.get(name)!r}, this run {name}={wanted.get(name)!r}. "
            "Use the same settings, or another checkpoint folder."
        )


def record_run_configs(
    checkpoint_dir: str,
    logdir: str | None,
    configs: dict,
    runtime: Runtime,
    train_arrays: ImageArrays,
    epochs_set_schedule: bool = False,
) -> tf.summary.SummaryWriter | None:
    """Checks that a run resumed in `checkpoint_dir` keeps its settings
    (`check_resumable`), then writes the resolved configs, with the
    runtime's `execution` and the data set of `train_arrays`, as
    `config.json` beside the checkpoints and the logs, and as a TensorBoard
    text summary. Only the chief writes.

    Returns:
        The TensorBoard writer of `logdir`, or None without a logdir or on a
        worker other than the chief.
    """
    configs = {
        **configs,
        "execution": runtime.config,
        "data": DataConfig(dataset_of(train_arrays)),
    }
    check_resumable(checkpoint_dir, configs, epochs_set_schedule)
    if not runtime.is_chief:
        return None
    save_configs(os.path.join(checkpoint_dir, RUN_CONFIG_FILE), **configs)
    writer = summary_writer(logdir)
    if writer is not None:
        save_configs(os.path.join(logdir, "config.json"), **configs)
        write_config_summary(
            writer, {name: config_to_dict(config) for name, config in configs.items()}
        )
    return writer


def fixed_noise(count: int, latent_dim: int, seed: int) -> tf.Tensor:
    """The same latent vectors for every sample grid of a run.

    Returns:
        float32 tensor [count, latent_dim] drawn from N(0, 1).
    """
    rng = np.random.default_rng(seed)
    return tf.constant(rng.standard_normal((count, latent_dim)), tf.float32)
