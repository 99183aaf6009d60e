"""An exclusive lock on a checkpoint folder, so that two training processes
never write the same checkpoints (no TensorFlow here).

"Rerun the same command to resume" invites a second terminal while the first
run still trains. Two processes in one folder would each restore, train and
save, overwriting each other's checkpoints and history. The lock is a POSIX
record lock (`fcntl.lockf`) on `.lock` in the folder: the kernel drops it when
its process ends, however it ends, so a killed run leaves no stale lock, and
it belongs to the process, so one process may take it again (a second run
into the folder after the first returned, as the tests do). The price of
POSIX locks: closing any handle of the file in the process drops the
process's lock. So the epoch loop releases its lock when its run ends rather
than leaving it to the collector, which could close an earlier run's handle
while a later run of the same process trains into the folder.
"""

from __future__ import annotations

import fcntl
import os

from egan_tf.errors import FolderInUseError

LOCK_FILE = ".lock"


class FolderLock:
    """Holds the lock on `folder` from construction until `release`, until
    the object is collected (its file handle then closes), or until the end
    of the process.

    Args:
        folder: An existing folder.
        lock_file: The file in `folder` the lock is taken on; one folder may
            hold several independent locks (an encoder run's folds).
        wait: Wait for another process to let the lock go instead of
            refusing; for short critical sections only.

    Raises:
        FolderInUseError: Another process holds the lock (and `wait` is
            False); one line naming the folder and that process.
    """

    def __init__(self, folder: str, lock_file: str = LOCK_FILE, wait: bool = False):
        self.folder = folder
        # Open for the lock's lifetime, not a block: the lock lives with it.
        self._handle = open(  # noqa: SIM115
            os.path.join(folder, lock_file), "a+", encoding="utf-8"
        )
        try:
            fcntl.lockf(
                self._handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
            )
        except OSError:
            self._handle.seek(0)
            holder = self._handle.read().strip() or "unknown"
            self._handle.close()
            self._handle = None
            raise FolderInUseError(
                f"Another process (pid {holder}) is training into {folder}; two "
                "runs would overwrite each other's checkpoints. Wait for it, or "
                f"stop it (kill -TERM {holder} saves a checkpoint) and rerun "
                "to resume."
            ) from None
        # The holder's process id, for the message another process gives.
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(f"{os.getpid()}\n")
        self._handle.flush()

    @property
    def held(self) -> bool:
        """Whether this object still holds the lock."""
        return self._handle is not None

    def release(self) -> None:
        """Lets another process take the folder; a second call does nothing."""
        if self._handle is not None:
            fcntl.lockf(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
