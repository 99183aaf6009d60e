"""Errors a user can fix, importable without TensorFlow."""

from __future__ import annotations


def first_line(error: Exception) -> str:
    """The first line of an error's message (its type's name if it has
    none): what a one-line error report shows."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class ModelFileError(ValueError):
    """A saved model is missing, unreadable or does not fit the others."""


class TrainingInterrupted(Exception):
    """Training stopped on Ctrl-C or SIGTERM after saving a checkpoint."""

    def __init__(self, checkpoint_path: str, step: int):
        super().__init__(
            f"Training interrupted at step {step}; checkpoint saved to "
            f"{checkpoint_path}. Rerun the same command to resume."
        )
        self.checkpoint_path = checkpoint_path
        self.step = step


class StagesInterrupted(TrainingInterrupted):
    """`reproduce --jobs` stopped on Ctrl-C or SIGTERM after each running
    stage saved a checkpoint."""

    def __init__(self, stages: list[str], work_dir: str):
        Exception.__init__(
            self,
            f"Interrupted; the running stages ({', '.join(stages) or 'none'}) "
            f"saved checkpoints in {work_dir}. Rerun the same command to resume.",
        )
        self.stages = stages
        self.work_dir = work_dir


class FolderInUseError(ValueError):
    """Another process is training into the same checkpoint folder."""


class ImagesError(ValueError):
    """Images a user brought cannot be read as they are. One line."""
