"""`reproduce --jobs N`: the stages in N processes at once, each started as
soon as the networks it needs are made.

One training step of these small networks uses a second core poorly, so on a
CPU machine two stages side by side, one thread each, do more work than one
after the other on every core (`bench/parallel_stages.py`). Each stage runs
in its own process (`egan_tf.training.stage_worker`) with `cores / N`
intra-op threads (all of them for a stage nothing can join, such as the
last) and one inter-op thread, logs to `<work_dir>/<stage>.log`,
and checkpoints as usual, so an interrupted run resumes by running the same
command again. A free process slot with no stage ready to start helps a
running stage of cross-validation folds: a helper process trains the folds
no process has taken yet (`reproduce.help_reproduce`), so E's five folds need
not run one after the other while a core idles.

Nothing here imports TensorFlow: this process only schedules.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from egan_tf.data_paths import DataSource
from egan_tf.errors import StagesInterrupted
from egan_tf.execution import ExecutionConfig, StrategyKind
from egan_tf.model_files import read_model_card
from egan_tf.training.stages import (
    FOLD_STAGES,
    STAGE_INPUTS,
    STAGE_OUTPUTS,
    ReproduceStage,
    check_max_epochs,
    folds_left,
)

# How often the scheduler looks at its processes, in seconds.
_POLL_SECONDS = 0.5
# How long a stopped stage may take to save its checkpoint and exit.
_STOP_TIMEOUT_SECONDS = 300


@dataclasses.dataclass(frozen=True)
class StageJobsRequest:
    """What `run_stage_jobs` runs.

    Attributes:
        models_dir: Where the networks are read and written.
        work_dir: One checkpoint folder per stage, and each stage's log.
        data: The data set and where it is read from.
        logdir: TensorBoard folder (one sub-folder per stage), or None.
        execution: How each stage computes; one device only.
        stages: The stages, in training order.
        jobs: How many stages may run at once, at least 1.
        max_epochs: Caps every stage's epochs (`reproduce_all`), or None.
    """

    models_dir: str
    work_dir: str
    data: DataSource
    stages: tuple[ReproduceStage, ...]
    jobs: int
    logdir: str | None = None
    execution: ExecutionConfig = dataclasses.field(default_factory=ExecutionConfig)
    max_epochs: int | None = None

    def __post_init__(self):
        if not (isinstance(self.jobs, int) and self.jobs >= 1):
            raise ValueError(f"jobs must be at least 1. Received: jobs={self.jobs!r}")
        check_max_epochs(self.max_epochs)
        if self.jobs > 1 and self.execution.strategy != StrategyKind.DEFAULT:
            raise ValueError(
                "Stages run side by side in processes of one device each; "
                "--jobs above 1 takes --strategy default. Received: "
                f"jobs={self.jobs}, strategy={self.execution.strategy}"
            )

    def worker_request(self, stage: ReproduceStage, helper: bool = False) -> dict:
        """The JSON request `stage_worker` runs `stage` (or helps it) from."""
        return {
            "stage": stage.value,
            "helper": helper,
            "models_dir": os.path.abspath(self.models_dir),
            "work_dir": os.path.abspath(self.work_dir),
            "logdir": os.path.abspath(self.logdir) if self.logdir else None,
            "data": dataclasses.asdict(self.data),
            "execution": dataclasses.asdict(self.execution),
            "max_epochs": self.max_epochs,
        }

    def log_path(self, stage: ReproduceStage, helper: bool = False) -> str:
        """Where `stage`'s process (or its helper) writes its output."""
        suffix = ".helper" if helper else ""
        return os.path.join(self.work_dir, f"{stage.value}{suffix}.log")


@dataclasses.dataclass(frozen=True)
class StageEvent:
    """A stage, or a helper of a stage, started or finished.

    Attributes:
        stage: The stage.
        finished: False when it started, True when it ended well.
        running: The stages running after the event.
        seconds: How long the stage ran, when it finished.
        helper: The event is of a process helping `stage` train its folds
            (which finishes without the stage).
        threads: The intra-op threads of the process, when it started.
    """

    stage: ReproduceStage
    finished: bool
    running: tuple[ReproduceStage, ...]
    seconds: float | None = None
    helper: bool = False
    threads: int | None = None


class StageFailed(RuntimeError):
    """A stage's process exited with an error."""

    def __init__(self, stage: ReproduceStage, log_path: str, helper: bool = False):
        process = "A helper of stage" if helper else "Stage"
        super().__init__(
            f"{process} {stage.value} failed: {_last_line(log_path)} (its log: "
            f"{log_path}). The other stages were stopped after a checkpoint; "
            "rerun the same command to resume."
        )


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Intra-op threads of each stage's process: the cores shared out."""
    return max(1, (cores or os.cpu_count() or 1) // jobs)


def stages_waiting_for(
    stage: ReproduceStage, pending: list[ReproduceStage]
) -> set[ReproduceStage]:
    """The stages of `pending` that cannot start before `stage` ends: they
    need a network it makes, or one that a stage waiting for it makes."""
    made = set(STAGE_OUTPUTS.get(stage, ()))
    waiting: set[ReproduceStage] = set()
    changed = True
    while changed:
        changed = False
        for other in pending:
            if other in waiting or other == stage:
                continue
            if made & set(STAGE_INPUTS.get(other, ())):
                waiting.add(other)
                made |= set(STAGE_OUTPUTS.get(other, ()))
                changed = True
    return waiting


def threads_for_stage(
    stage: ReproduceStage,
    pending: list[ReproduceStage],
    others_running: int,
    jobs: int,
    cores: int | None = None,
    folds_left: int = 0,
) -> int:
    """Intra-op threads of the process that starts `stage`.

    The cores are shared out among the `jobs` slots, except for a stage that
    nothing can join while it runs: no other process runs, no helper can
    take its folds (it has at most one left), and every pending stage needs
    what it makes (the last stages, such as `defense`). That stage gets every
    core; with a share it would leave the other slot's cores idle for its
    whole run.

    Args:
        stage: The stage about to start.
        pending: The stages not started yet, `stage` excluded.
        others_running: How many other processes (stages and helpers) run.
        jobs: The slots (`--jobs`).
        cores: The machine's cores (None: `os.cpu_count()`).
        folds_left: The stage's folds not finished yet (`stages.folds_left`).
    """
    alone = (
        others_running == 0
        and folds_left <= 1
        and stages_waiting_for(stage, pending) == set(pending)
    )
    return threads_per_job(1 if alone else jobs, cores)


def ready_stages(
    pending: list[ReproduceStage],
    running: set[ReproduceStage] | dict,
    models_dir: str,
) -> list[ReproduceStage]:
    """The pending stages whose inputs are made: in `models_dir`, and not
    about to be made again by a stage that is pending or running.

    Returns:
        Those stages, in training order.
    """
    unfinished = set(pending) | set(running)
    remade = {name for stage in unfinished for name in STAGE_OUTPUTS.get(stage, ())}
    ready = []
    for stage in pending:
        inputs = STAGE_INPUTS.get(stage, ())
        if all(
            name not in remade and os.path.isfile(os.path.join(models_dir, name))
            for name in inputs
        ):
            ready.append(stage)
    return ready


def run_stage_jobs(
    request: StageJobsRequest,
    on_event: Callable[[StageEvent], None] = lambda event: None,
) -> dict[str, dict]:
    """Runs `request.stages`, up to `request.jobs` at once, each in a process
    of its own, starting each as soon as its inputs are made.

    SIGTERM and Ctrl-C stop every running stage after its checkpoint.

    Returns:
        The model card of each stage (`<models_dir>/<stage>.json`), keyed by
        stage name, in training order.

    Raises:
        StageFailed: A stage's process failed; the others were stopped.
        StagesInterrupted: On SIGTERM or Ctrl-C, once the running stages
            saved their checkpoints.
    """
    os.makedirs(request.work_dir, exist_ok=True)
    pending = list(request.stages)
    # Processes by stage and whether they help it; one helper a stage.
    running: dict[tuple[ReproduceStage, bool], tuple[subprocess.Popen, float]] = {}
    helped = set()

    def running_stages() -> tuple[ReproduceStage, ...]:
        return tuple(stage for stage, helper in running if not helper)

    def stage_folds_left(stage: ReproduceStage) -> int:
        return folds_left(
            stage, request.data.dataset, os.path.join(request.work_dir, stage.value)
        )

    def start(stage: ReproduceStage, helper: bool) -> None:
        threads = (
            threads_per_job(request.jobs)
            if helper
            else threads_for_stage(
                stage,
                pending,
                len(running),
                request.jobs,
                folds_left=stage_folds_left(stage),
            )
        )
        process = _start(request, stage, helper, threads)
        running[stage, helper] = (process, time.monotonic())
        on_event(
            StageEvent(stage, False, running_stages(), helper=helper, threads=threads)
        )

    previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        while pending or running:
            for stage in ready_stages(pending, running_stages(), request.models_dir):
                if len(running) >= request.jobs:
                    break
                pending.remove(stage)
                start(stage, helper=False)
            # Only a slot no stage could take goes to a helper.
            for stage in running_stages():
                if len(running) >= request.jobs:
                    break
                if stage in FOLD_STAGES and stage not in helped:
                    helped.add(stage)
                    # A stage with one fold left has nothing to share, and
                    # never will: its folds only finish.
                    if stage_folds_left(stage) > 1:
                        start(stage, helper=True)
            if not running:
                # `check_stage_inputs` refuses such a list before this runs.
                raise ValueError(
                    "No stage can start: their inputs are missing. Received: "
                    f"stages={','.join(stage.value for stage in pending)}"
                )
            time.sleep(_POLL_SECONDS)
            for (stage, helper), (process, started) in list(running.items()):
                if process.poll() is None:
                    continue
                del running[stage, helper]
                if process.returncode != 0:
                    _stop(running)
                    raise StageFailed(stage, request.log_path(stage, helper), helper)
                on_event(
                    StageEvent(
                        stage,
                        True,
                        running_stages(),
                        time.monotonic() - started,
                        helper,
                    )
                )
    except KeyboardInterrupt:
        _stop(running)
        raise StagesInterrupted(
            [stage.value for stage in running_stages()], request.work_dir
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    return {
        stage.value: read_model_card(
            os.path.join(request.models_dir, f"{stage.value}.json")
        )
        for stage in request.stages
    }


def _start(
    request: StageJobsRequest, stage: ReproduceStage, helper: bool, threads: int
) -> subprocess.Popen:
    environment = dict(os.environ)
    environment["TF_NUM_INTRAOP_THREADS"] = str(threads)
    # The default inter-op pool (one thread per core) would let each process
    # run two compute threads, which then spin against each other.
    environment["TF_NUM_INTEROP_THREADS"] = "1"
    with open(request.log_path(stage, helper), "a", encoding="utf-8") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "egan_tf.training.stage_worker",
                json.dumps(request.worker_request(stage, helper)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )


def _stop(running: dict) -> None:
    """Asks every running stage to save its checkpoint and stop, and waits."""
    for process, _ in running.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in running.values():
        try:
            process.wait(timeout=_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last_line(path: str) -> str:
    """The last non-empty line of a log: a failed process's error."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    return lines[-1] if lines else "no output"


def _raise_keyboard_interrupt(signum, frame):
    del signum, frame
    raise KeyboardInterrupt
