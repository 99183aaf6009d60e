"""Where the data lives, resolved against the folder the user ran from.

`TFDS_DATA_DIR` is often given relative (`../shared/data/tensorflow_datasets`,
as the README writes it). A relative value means "relative to where I typed
the command", but TFDS reads it later, and notebook kernels and subprocesses
inherit it from other folders. So the package anchors it to an absolute path
once, when it is first imported, before anything has changed folder.
"""

from __future__ import annotations

import dataclasses
import os

from egan_tf.datasets import DEFAULT_DATASET, DatasetSpec, dataset_spec

TFDS_DATA_DIR_VARIABLE = "TFDS_DATA_DIR"


def absolute_or_none(path: str | None) -> str | None:
    """`path` made absolute against the current folder; None and "" stay None."""
    return os.path.abspath(path) if path else None


def anchor_tfds_data_dir() -> None:
    """Makes a relative `TFDS_DATA_DIR` absolute in this process's
    environment, which every child process then inherits."""
    value = os.environ.get(TFDS_DATA_DIR_VARIABLE)
    if value and not os.path.isabs(value):
        os.environ[TFDS_DATA_DIR_VARIABLE] = os.path.abspath(value)


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Which data set a command reads, from where, and how much of it.

    Attributes:
        dataset: "mnist" or "fashion_mnist".
        data_dir: A folder of the four IDX .gz files or a prepared TFDS
            folder, made absolute against the folder the user ran from; None
            for TFDS with `TFDS_DATA_DIR`.
        limit: Use only the first N examples of a split (None: all). Which
            examples those are depends on the source's order (see
            `DataProvenance.order`).
    """

    data_dir: str | None = None
    limit: int | None = None
    dataset: str = DEFAULT_DATASET

    def __post_init__(self):
        object.__setattr__(self, "dataset", dataset_spec(self.dataset).name)
        if self.limit is not None and not (
            isinstance(self.limit, int) and self.limit >= 1
        ):
            raise ValueError(f"limit must be at least 1. Received: limit={self.limit}")
        object.__setattr__(self, "data_dir", absolute_or_none(self.data_dir))

    def load(self, split: str):
        """The split ("train" or "test") as `egan_tf.data.ImageArrays`, cut
        to `limit` examples."""
        # Imported here: this module stays free of TensorFlow, so that the
        # command line can build a DataSource before TensorFlow loads.
        from egan_tf.data import load_split

        return load_split(split, self.data_dir, self.dataset, self.limit)

    @property
    def spec(self) -> DatasetSpec:
        """What the data set is: its title, class names, models folder."""
        return dataset_spec(self.dataset)
