"""Where and how a training run executes: its `tf.distribute` strategy, the
networks' precision, XLA, and which process may write files.

One `Runtime` is made per process and handed to every training stage it runs:
TensorFlow allows one multi-worker strategy per process, and its collective
ops must be set up before any other op.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from egan_tf.batching import without_autotuning
from egan_tf.config import IMAGE_SHAPE
from egan_tf.data import ImageArrays, to_unit_interval
from egan_tf.execution import TF_CONFIG, ExecutionConfig, StrategyKind, check_tf_config
from egan_tf.precision import with_precision
from egan_tf.training.checkpoints import ResumableCheckpoint

# A replica's train step takes its share of a batch (images float32 [n, 28,
# 28, 1] in [0, 1] and labels int64 [n]), a stateless seed int64 [2] of its
# own, and the number of examples in the whole global batch (int64 []), and
# returns named scalars that sum over replicas to the global batch's values.
ReplicaStep = Callable[[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor], dict]
# The compiled step over a distributed batch: (images, labels, seed,
# global_batch_size) -> named float32 scalars of the global batch.
TrainStep = Callable[..., dict]


def make_strategy(kind: StrategyKind) -> tf.distribute.Strategy:
    """The strategy `kind` names, on this process's devices.

    `mirrored` uses every GPU, or every logical CPU device when there is no
    GPU (split a CPU with `tf.config.set_logical_device_configuration`
    before any op). `multiworker` reads the cluster from `TF_CONFIG`.

    Raises:
        ValueError: For `multiworker` without a valid `TF_CONFIG`.
    """
    kind = StrategyKind(kind)
    if kind == StrategyKind.DEFAULT:
        return tf.distribute.get_strategy()
    if kind == StrategyKind.MIRRORED:
        devices = tf.config.list_logical_devices(
            "GPU"
        ) or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([device.name for device in devices])
    check_tf_config(os.environ.get(TF_CONFIG))
    return tf.distribute.MultiWorkerMirroredStrategy()


def split_cpu(devices: int) -> None:
    """Splits this process's CPU into `devices` logical devices, so that
    `mirrored` runs that many replicas on it (for tests and benchmarks: the
    replicas share the same cores). Call before any TensorFlow op."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * devices
    )


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or resolver.task_type is None:
        return True
    if resolver.task_type == "chief":
        return True
    cluster = resolver.cluster_spec().as_dict()
    return (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and ("chief" not in cluster)
    )


def stable_graph_optimizations() -> None:
    """Turns grappler's remapper and arithmetic optimiser off and
    deterministic kernels on for this process.

    TensorFlow 2.21's remapper fails at random on D's Conv2D + BiasAdd +
    LeakyRelu beside their gradient ("remapper failed: ... fanout ... exist for
    missing node" on the log) and then leaves that function unfused. Two
    traces of one train step may so be optimised differently and round
    differently, and a resumed run ended 6e-8 away from an uninterrupted one
    in one run of three (tests/test_resume.py). Without the remapper every
    trace is the same graph; the GAN step ran as fast (17.7 and 18.2 steps
    per second off, 15.7 and 18.4 on, in one benchmark's runs).

    The arithmetic optimiser goes too: it folds trees of additions into one
    `AddN`, and TensorFlow's CPU `AddN` adds its inputs starting from the first
    one whose buffer it may overwrite, so the order, and with it the
    rounding, depends on which of the other readers of an input have already
    run. The executor's order changes with timing (it runs a kernel inline
    once its measured cost falls low, after about 90 calls), so one step
    called again from one state rounded differently from about its 90th call
    (experiments/repeated_step.py; tests/test_repeatability.py).
    """
    tf.config.optimizer.set_experimental_options(
        {"remapping": False, "arithmetic_optimization": False}
    )
    # Under `strategy.run` even the default strategy's steps were not bitwise
    # repeatable: two runs of one seed parted by 1.5e-8 in one run of six
    # (tests/test_gan_training.py). Deterministic kernels end that; the GAN
    # step's cost is measured in bench/gan_step.py.
    tf.config.experimental.enable_op_determinism()


def global_mean(values: tf.Tensor, global_batch_size: tf.Tensor) -> tf.Tensor:
    """A replica's share of the mean of per-example `values` over the global
    batch: their sum over the global batch size, so that summing the shares
    over replicas gives the mean (what `tf.nn.compute_average_loss` does for
    losses, here for reported metrics).

    Args:
        values: float32 [n] for this replica's n examples.
        global_batch_size: int64 [], examples in the whole global batch.
    """
    return tf.reduce_sum(values) / tf.cast(global_batch_size, values.dtype)


def split_evenly(count: int, parts: int) -> list[slice]:
    """`parts` consecutive slices covering range(count), sizes differing by
    at most one (the first ones larger), as `np.array_split` cuts."""
    bounds = np.cumsum(
        [0] + [count // parts + (k < count % parts) for k in range(parts)]
    )
    return [slice(int(bounds[k]), int(bounds[k + 1])) for k in range(parts)]


def global_batches(count: int, batch_size: int, start_batch: int) -> list[slice]:
    """The global batches of `count` examples from batch `start_batch` on, as
    consecutive slices of `batch_size` (the last may hold fewer)."""
    return [
        slice(start, min(start + batch_size, count))
        for start in range(start_batch * batch_size, count, batch_size)
    ]


def replica_shares_dataset(
    arrays: ImageArrays,
    order: np.ndarray,
    batch_size: int,
    start_batch: int,
    num_replicas: int,
    context: tf.distribute.InputContext,
) -> tf.data.Dataset:
    """One input pipeline's shares of the global batches of `order`.

    Every global batch of `batch_size` examples of `order` (from batch
    `start_batch` on; the last may hold fewer) is cut into `num_replicas`
    consecutive shares (`split_evenly`); the pipeline `context` names yields
    the shares of its own replicas, in order.

    Returns:
        A dataset of (images float32 [share, 28, 28, 1] in [0, 1], labels
        int64 [share]).
    """
    local = num_replicas // context.num_input_pipelines
    first = context.input_pipeline_id * local

    def shares():
        for batch in global_batches(len(order), batch_size, start_batch):
            indices = order[batch]
            for part in split_evenly(len(indices), num_replicas)[first : first + local]:
                chosen = indices[part]
                yield arrays.images[chosen], arrays.labels[chosen].astype(np.int64)

    dataset = tf.data.Dataset.from_generator(
        shares,
        output_signature=(
            tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8),
            tf.TensorSpec([None], tf.int64),
        ),
    ).map(lambda images, labels: (to_unit_interval(images), labels))
    return without_autotuning(dataset)


@dataclasses.dataclass
class Runtime:
    """A strategy with the run's precision and XLA switch, and the rule that
    only the chief writes.

    Attributes:
        config: What was asked for.
        strategy: The `tf.distribute` strategy built from it.
    """

    config: ExecutionConfig
    strategy: tf.distribute.Strategy
    _temporary_dirs: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def create(cls, config: ExecutionConfig | None = None) -> Runtime:
        """Builds the strategy `config` asks for (the default: one device),
        with graph optimisations that give the same graph on every trace
        (`stable_graph_optimizations`)."""
        config = config or ExecutionConfig()
        stable_graph_optimizations()
        return cls(config, make_strategy(config.strategy))

    @property
    def num_replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def is_chief(self) -> bool:
        """Whether this process writes checkpoints, logs and model files."""
        return _is_chief(self.strategy)

    def scope(self):
        """The strategy's scope: build models, optimizers and checkpoints here."""
        return self.strategy.scope()

    def writable(self, path: str | None) -> str | None:
        """`path` on the chief; on another worker a temporary folder that
        `close` removes (every worker must save, or collectives would wait)."""
        if path is None or self.is_chief:
            return path
        folder = tempfile.mkdtemp(prefix="egan_tf_worker_")
        self._temporary_dirs.append(folder)
        return os.path.join(folder, os.path.basename(os.path.normpath(path)))

    def logdir(self, logdir: str | None) -> str | None:
        """Only the chief writes TensorBoard logs."""
        return logdir if self.is_chief else None

    def close(self) -> None:
        """Removes the temporary folders of a non-chief worker."""
        while self._temporary_dirs:
            shutil.rmtree(self._temporary_dirs.pop(), ignore_errors=True)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def build(self, builder: Callable[[], keras.Model]) -> keras.Model:
        """Calls `builder` in the scope and returns its network at the run's
        precision (same weights, the float32 head kept)."""
        with self.scope():
            return with_precision(builder(), self.config.precision)

    def place(self, model: keras.Model) -> keras.Model:
        """A copy of a trained network for this run, made in the scope (its
        variables then live on every replica) at the run's precision; the
        caller's `model` is never changed."""

        def copy() -> keras.Model:
            clone = keras.models.clone_model(model)
            clone.set_weights(model.get_weights())
            return clone

        return self.build(copy)

    def build_optimizer(
        self, make_optimizer: Callable[[], keras.optimizers.Optimizer], variables: list
    ) -> keras.optimizers.Optimizer:
        """Makes an optimizer in the scope and creates its slots for
        `variables` there.

        Keras 3.15's optimizers otherwise create them on the first
        `apply_gradients`, inside the first `strategy.run`, which under
        `MirroredStrategy` fails with "You must feed a value for placeholder"
        (keras-team/keras#23085).
        """
        with self.scope():
            optimizer = make_optimizer()
            optimizer.build(variables)
        return optimizer

    def checkpoint(self, directory: str, **trackables) -> ResumableCheckpoint:
        """A `ResumableCheckpoint` of `trackables` made in the scope, restored
        from `directory`, written there by the chief and to a temporary
        folder by any other worker."""
        with self.scope():
            state = ResumableCheckpoint(
                directory, self.writable(directory), **trackables
            )
        state.restore_latest()
        return state

    def replica_seed(self, seed: tf.Tensor) -> tf.Tensor:
        """`seed` with the replica's index folded in, inside `strategy.run`,
        so that replicas draw different noise for their shares of a batch."""
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return tf.random.experimental.stateless_fold_in(
            seed, tf.cast(replica, tf.int64)
        )

    def compile_step(self, replica_step: ReplicaStep) -> TrainStep:
        """The train step over a distributed batch: `replica_step` under
        `strategy.run` on every replica, its scalars summed over replicas."""
        replica_fn = (
            tf.function(replica_step, jit_compile=True, autograph=False)
            if self.config.jit
            else replica_step
        )

        # Shapes relax after the first retrace: the last batch is smaller. No
        # AutoGraph: the steps have no Python control flow on tensors.
        @tf.function(reduce_retracing=True, autograph=False)
        def train_step(images, labels, seed, global_batch_size):
            def run_replica(replica_images, replica_labels):
                return replica_fn(
                    replica_images,
                    replica_labels,
                    self.replica_seed(seed),
                    global_batch_size,
                )

            per_replica = self.strategy.run(run_replica, args=(images, labels))
            return {
                name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
                for name, value in per_replica.items()
            }

        return train_step

    def distributed_batches(
        self,
        arrays: ImageArrays,
        order: np.ndarray,
        batch_size: int,
        start_batch: int = 0,
    ) -> Iterator[tuple]:
        """Yields (images, labels, global_batch_size) for the global batches
        of `order` from `start_batch` on, each split over the replicas.

        Every global batch holds `batch_size` examples of `order` (the last
        may hold fewer) and is cut into consecutive shares, one per replica
        (`split_evenly`), through `distribute_datasets_from_function`: each
        worker's input pipeline builds only its own replicas' shares.
        """
        sizes = [
            batch.stop - batch.start
            for batch in global_batches(len(order), batch_size, start_batch)
        ]
        num_replicas = self.num_replicas

        def dataset_fn(context: tf.distribute.InputContext) -> tf.data.Dataset:
            return replica_shares_dataset(
                arrays, order, batch_size, start_batch, num_replicas, context
            )

        options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
        batches = iter(
            self.strategy.distribute_datasets_from_function(dataset_fn, options)
        )
        for size in sizes:
            images, labels = next(batches)
            yield images, labels, tf.constant(size, tf.int64)
