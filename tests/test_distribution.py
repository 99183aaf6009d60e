"""The training loops on tf.distribute: MirroredStrategy on a CPU split into
two logical devices, and MultiWorkerMirroredStrategy over two processes on
127.0.0.1. Each runs in processes of its own (the device split and the
cluster must exist before any op)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from egan_tf.execution import ExecutionConfig, check_tf_config
from egan_tf.training.runtime import split_evenly

# The processes these tests start live beside them (not test_*.py files).
SCRIPTS = os.path.dirname(__file__)
# Adam over a few steps turns float32 rounding (sums over replicas in another
# order) into differences of this size; a wrong split or statistics per
# replica give 1e-3 and more.
PARITY_TOLERANCE = 2e-4


# Beside two training processes (session 17) the mirrored checks took more
# than 300 s, their limit then; the limit is there to catch a hang.
_SUBPROCESS_TIMEOUT = 900


def _run(arguments, env=None, timeout=_SUBPROCESS_TIMEOUT):
    return subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def mirrored_report(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("mirrored")
    completed = _run([os.path.join(SCRIPTS, "mirrored_checks.py"), str(work_dir)])
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_mirrored_runs_on_two_replicas(mirrored_report):
    assert mirrored_report["replicas"] == 2


@pytest.mark.parametrize("stage", ["classifier", "encoder"])
def test_mirrored_gives_the_networks_of_one_device(mirrored_report, stage):
    assert mirrored_report[f"{stage}_weight_difference"] < PARITY_TOLERANCE
    losses = mirrored_report[f"{stage}_losses"]
    np.testing.assert_allclose(losses["mirrored"], losses["default"], rtol=1e-5)


def test_resume_under_mirrored_ends_where_a_straight_run_does(mirrored_report):
    assert mirrored_report["classifier_resume_difference"] == 0.0
    assert mirrored_report["gan_resume_difference"] == 0.0
    assert mirrored_report["encoder_resume_difference"] == 0.0


def test_each_replica_draws_its_own_noise(mirrored_report):
    first, second = mirrored_report["replica_seeds"]
    assert first != second


def test_each_replica_draws_its_own_dropout_mask(mirrored_report):
    # Keras' Dropout drew the same mask on every replica (its seed generator
    # is a mirrored variable); ReplicaDropout folds the replica's index in.
    assert mirrored_report["replica_dropout_masks_equal"] is False


def test_an_optimizer_not_built_in_the_scope_fails_as_keras_issue_23085(
    mirrored_report,
):
    # The pitfall the Runtime's build_optimizer avoids, on this Keras.
    assert "You must feed a value for placeholder" in (
        mirrored_report["unbuilt_optimizer_error"] or ""
    )


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _train_on_two_workers(run_dir, shared, stop_at=None):
    """Trains the tiny classifier on two workers of `multiworker` (two
    processes on 127.0.0.1, free ports), resuming from the checkpoints in
    `shared["checkpoints"]`; returns each worker's final weights. With
    `stop_at`, both are interrupted at that step and return nothing."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        temporary = run_dir / f"tmp{index}"
        temporary.mkdir(parents=True)
        tf_config = {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    os.path.join(SCRIPTS, "train_worker.py"),
                    "multiworker",
                    shared["checkpoints"],
                    shared["models"],
                    shared["logs"],
                    str(run_dir / f"weights{index}.npz"),
                    *([] if stop_at is None else [str(stop_at)]),
                ],
                env={
                    **os.environ,
                    "TF_CONFIG": json.dumps(tf_config),
                    "TMPDIR": str(temporary),
                },
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
    # The worker's own checkpoints went to temporary folders, now removed.
    assert os.listdir(run_dir / "tmp1") == []
    if stop_at is not None:
        return None
    return [np.load(run_dir / f"weights{index}.npz") for index in range(2)]


def _shared_folders(folder):
    return {name: str(folder / name) for name in ("checkpoints", "models", "logs")}


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory):
    """A straight two-epoch run on two workers: its folder and the workers'
    weights."""
    run_dir = tmp_path_factory.mktemp("two_workers")
    return run_dir, _train_on_two_workers(run_dir, _shared_folders(run_dir))


def test_two_workers_train_the_same_weights_and_only_the_chief_writes(two_worker_run):
    tmp_path, (chief, worker) = two_worker_run
    shared = _shared_folders(tmp_path)
    assert bool(chief["chief"])
    assert not bool(worker["chief"])
    assert int(chief["replicas"]) == int(worker["replicas"]) == 2
    trained = [name for name in chief.files if name.startswith("arr_")] + ["loss"]
    for name in trained:
        np.testing.assert_array_equal(chief[name], worker[name])
    # One checkpoint series and history, one TensorBoard log, one model and
    # card.
    checkpoints = sorted(os.listdir(shared["checkpoints"]))
    assert checkpoints == [
        ".lock", "checkpoint", "ckpt-3.data-00000-of-00001", "ckpt-3.index",
        "ckpt-6.data-00000-of-00001", "ckpt-6.index", "config.json",
        "history.json",
    ]  # fmt: skip
    history = json.loads((tmp_path / "checkpoints" / "history.json").read_text())
    assert sorted(history) == ["1", "2"]
    events = [name for name in os.listdir(shared["logs"]) if "tfevents" in name]
    assert len(events) == 1
    assert sorted(os.listdir(shared["models"])) == [
        "classifier.json",
        "classifier.keras",
    ]
    card = json.loads((tmp_path / "models" / "classifier.json").read_text())
    assert card["execution"]["strategy"] == "multiworker"


def test_resume_on_two_workers_ends_where_a_straight_run_does(tmp_path, two_worker_run):
    _, (straight, _) = two_worker_run
    shared = _shared_folders(tmp_path)
    # The first run is interrupted at its fifth step, inside the second of
    # three-step epochs, and saves after its fourth; the second resumes both
    # workers from the chief's checkpoint.
    _train_on_two_workers(tmp_path / "first", shared, stop_at=5)
    assert "ckpt-4.index" in os.listdir(tmp_path / "checkpoints")
    history = json.loads((tmp_path / "checkpoints" / "history.json").read_text())
    assert sorted(history) == ["1"]
    assert not (tmp_path / "first" / "weights0.npz").exists()
    chief, worker = _train_on_two_workers(tmp_path / "second", shared)
    trained = [name for name in straight.files if name.startswith("arr_")]
    for name in trained:
        np.testing.assert_array_equal(chief[name], straight[name])
        np.testing.assert_array_equal(worker[name], straight[name])
    history = json.loads((tmp_path / "checkpoints" / "history.json").read_text())
    assert sorted(history) == ["1", "2"]


def test_split_evenly_covers_a_batch_in_consecutive_shares():
    shares = split_evenly(7, 3)
    assert [(part.start, part.stop) for part in shares] == [(0, 3), (3, 5), (5, 7)]
    assert [part.stop - part.start for part in split_evenly(1, 2)] == [1, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "TF_CONFIG unset"),
        ("not json", "must be JSON"),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
         "is not in its cluster"),
    ],
)  # fmt: skip
def test_a_bad_tf_config_is_refused_in_one_line(text, message):
    with pytest.raises(ValueError, match=message) as error:
        check_tf_config(text)
    assert len(str(error.value).splitlines()) == 1


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="Received: strategy='ring'"):
        ExecutionConfig(strategy="ring")


def test_each_input_pipeline_yields_its_replicas_shares_without_autotuning():
    import tensorflow as tf

    from egan_tf.data import ImageArrays
    from egan_tf.training.runtime import replica_shares_dataset

    arrays = ImageArrays(
        np.zeros((10, 28, 28, 1), np.uint8), np.arange(10, dtype=np.int64)
    )
    order = np.arange(10)[::-1]

    def labels_of(num_pipelines, pipeline):
        context = tf.distribute.InputContext(num_pipelines, pipeline, 2)
        dataset = replica_shares_dataset(arrays, order, 4, 0, 2, context)
        # Autotuning's thread stalled the iterator's deletion at epoch ends.
        assert dataset.options().autotune.enabled is False
        return [labels.numpy().tolist() for _, labels in dataset]

    # One pipeline feeds both replicas; with two, each feeds its own.
    assert labels_of(1, 0) == [[9, 8], [7, 6], [5, 4], [3, 2], [1], [0]]
    assert labels_of(2, 1) == [[7, 6], [3, 2], [0]]


def test_batches_keep_the_last_partial_batch_and_resume():
    from egan_tf.data import ImageArrays
    from egan_tf.training.runtime import Runtime

    arrays = ImageArrays(
        np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1).repeat(28, 1).repeat(28, 2),
        np.arange(10, dtype=np.int64),
    )
    order = np.arange(10)[::-1]
    runtime = Runtime.create()
    batches = list(runtime.distributed_batches(arrays, order, 4))
    assert [labels.numpy().tolist() for _, labels, _ in batches] == [
        [9, 8, 7, 6], [5, 4, 3, 2], [1, 0],
    ]  # fmt: skip
    assert [int(size) for _, _, size in batches] == [4, 4, 2]
    # Pixels arrive in [0, 1]: grey level 9 of 255 for the first example.
    assert float(batches[0][0][0, 0, 0, 0]) == pytest.approx(9 / 255)
    resumed = runtime.distributed_batches(arrays, order, 4, start_batch=2)
    assert [labels.numpy().tolist() for _, labels, _ in resumed] == [[1, 0]]
