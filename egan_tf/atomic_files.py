"""Writing files so that a reader never sees half of one, and checking early
that they can be written at all.

Every file the package writes goes through `atomic_path`: the content is
written to a uniquely named temporary file in the target folder
(`tempfile.mkstemp`, so that two writers never share it), flushed to disk with
`fsync`, and renamed over the target, which is atomic on POSIX. Long jobs call
`check_writable` on every output path before any work, so that a bad path
fails in a second with the path the user gave, not after an hour.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any


class OutputPathError(ValueError):
    """An output path cannot be written."""


def _nearest_existing_folder(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def check_writable(path: str, is_folder: bool = False) -> None:
    """Checks that `path` (a file, or a folder with `is_folder`) can be written.

    A missing folder on the way is fine as long as the nearest existing
    ancestor is a folder that takes new entries, since writers create it. That
    is tried, not asked: an empty file is made there and removed at once.
    `os.access` alone says yes to root everywhere, also in folders no one can
    create files in (`/proc`), and the job would fail after its work.

    Raises:
        OutputPathError: One line naming `path` as given and what is wrong.
    """
    absolute = os.path.abspath(path)
    if is_folder:
        if os.path.exists(absolute) and not os.path.isdir(absolute):
            raise OutputPathError(
                f"Cannot write to {path}: it is a file, not a folder."
            )
    elif os.path.isdir(absolute):
        raise OutputPathError(f"Cannot write {path}: it is a folder.")
    elif os.path.exists(absolute) and not os.access(absolute, os.W_OK):
        # The file is replaced by a rename, which needs only the folder's
        # permission; a read-only file is still a sign the user did not mean it.
        raise OutputPathError(f"Cannot write {path}: the file is read-only.")
    folder = (
        absolute
        if is_folder and os.path.isdir(absolute)
        else _nearest_existing_folder(absolute)
    )
    if not os.path.isdir(folder):
        raise OutputPathError(f"Cannot write {path}: {folder} is not a folder.")
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".egan-tf-write-check.", dir=folder)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputPathError(
            f"Cannot write {path}: no file can be created in {folder} ({reason})."
        ) from None
    os.close(descriptor)
    os.remove(probe)


def _fsync_path(path: str) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_path(path: str, suffix: str = ".tmp") -> Iterator[str]:
    """Yields a temporary path to write; on success it replaces `path`.

    Args:
        path: The final file; its folder is created when missing.
        suffix: Ending of the temporary name, for writers that choose the
            format by it (".tmp.keras").

    On an exception the temporary file is removed and `path` is untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=suffix, dir=folder
    )
    os.close(descriptor)
    # mkstemp makes the file private; keep the permissions a plain open() gives.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield temporary
        _fsync_path(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def write_text_atomically(path: str, text: str) -> None:
    """Writes `text` (UTF-8) to `path` atomically."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(text)


def write_json_atomically(path: str, payload: Any) -> None:
    """Writes `payload` as indented JSON (a final newline) to `path` atomically."""
    write_text_atomically(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")
