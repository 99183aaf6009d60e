"""How processes share the folds of one cross-validation run.

A process claims a fold (a lock in the run's checkpoint folder, which the
kernel drops when the process ends) before training it, and adds the fold's
record to the records file under a second lock, so that two processes
training folds of one run side by side never train one fold twice nor lose
each other's records.
"""

from __future__ import annotations

import os

from egan_tf.atomic_files import write_json_atomically
from egan_tf.errors import FolderInUseError
from egan_tf.execution import StrategyKind
from egan_tf.folder_lock import FolderLock
from egan_tf.training.runtime import Runtime
from egan_tf.training.stages import read_fold_records

# The lock a process holds on a fold while it trains it, and the one taken
# for the moment of adding a fold's record, in the run's checkpoint folder.
FOLD_CLAIM_FILE = ".fold_{fold}.lock"
_RECORDS_LOCK_FILE = ".fold_metrics.lock"


def add_fold_record(records_path: str, record: dict) -> None:
    """Adds one fold's record to the records file. Several processes may
    train folds of one run, so the file is re-read and rewritten under a
    lock rather than rewritten from what this process remembers."""
    folder = os.path.dirname(records_path)
    with FolderLock(folder, _RECORDS_LOCK_FILE, wait=True):
        records = read_fold_records(folder)
        records[str(record["fold"])] = record
        write_json_atomically(records_path, records)


def claim_fold(
    folds: list[int], checkpoint_dir: str, runtime: Runtime
) -> tuple[int, FolderLock | None] | None:
    """The first of `folds` no other process is training, with its claim
    (held until the fold's record is written), or None if others train them
    all.

    Under a multi-worker strategy every worker trains the same fold at the
    same time, so nothing is claimed."""
    if runtime.config.strategy == StrategyKind.MULTIWORKER:
        return folds[0], None
    for fold in folds:
        try:
            return fold, FolderLock(checkpoint_dir, FOLD_CLAIM_FILE.format(fold=fold))
        except FolderInUseError:
            continue
    return None
