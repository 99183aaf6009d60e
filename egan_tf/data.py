"""MNIST loading through TensorFlow Datasets, with an offline IDX fallback.

Pixel scaling happens in exactly one place, `to_unit_interval`: every network
and the blur take float32 images in [0, 1]. Networks that want another range
(the GAN works in [-1, 1]) convert inside the model.
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import os

import numpy as np
import tensorflow as tf

from egan_tf.config import IMAGE_SHAPE

TFDS_DATA_DIR_VARIABLE = "TFDS_DATA_DIR"
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049


class Split(enum.StrEnum):
    """The two MNIST splits."""

    TRAIN = "train"
    TEST = "test"


class DataNotFoundError(FileNotFoundError):
    """MNIST is neither in a prepared TFDS folder nor in a folder of IDX files."""


@dataclasses.dataclass(frozen=True)
class MnistArrays:
    """One MNIST split held in memory.

    Attributes:
        images: uint8 array of shape [N, 28, 28, 1], grey levels 0..255.
        labels: int64 array of shape [N], digits 0..9.
    """

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, count: int | None) -> MnistArrays:
        """Returns the first `count` examples (all of them when None)."""
        if count is None:
            return self
        return MnistArrays(self.images[:count], self.labels[:count])


def to_unit_interval(images: np.ndarray | tf.Tensor) -> tf.Tensor:
    """Converts uint8 grey levels to float32 in [0, 1].

    Args:
        images: uint8 tensor or array of any shape, values 0..255.

    Returns:
        float32 tensor of the same shape, values in [0, 1].
    """
    return tf.cast(images, tf.float32) / 255.0


def _missing_data_message(detail: str) -> str:
    return (
        f"MNIST not found ({detail}). Either set {TFDS_DATA_DIR_VARIABLE} to a "
        "prepared TensorFlow Datasets folder (one holding mnist/3.0.1), or pass "
        "--data-dir pointing at a folder with the four standard MNIST IDX .gz files."
    )


def _read_idx(path: str, expected_magic: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise DataNotFoundError(
            f"{path} is not an IDX file of the expected kind. "
            f"Received: magic={magic}, expected {expected_magic}"
        )
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def is_idx_directory(directory: str) -> bool:
    """True when `directory` holds the four standard MNIST IDX .gz files."""
    return all(
        os.path.isfile(os.path.join(directory, name))
        for names in _IDX_FILES.values()
        for name in names
    )


def _load_idx_split(directory: str, split: Split) -> MnistArrays:
    image_name, label_name = _IDX_FILES[split.value]
    images = _read_idx(os.path.join(directory, image_name), _IMAGE_MAGIC)
    labels = _read_idx(os.path.join(directory, label_name), _LABEL_MAGIC)
    return MnistArrays(images[..., np.newaxis], labels.astype(np.int64))


def _load_tfds_split(tfds_data_dir: str | None, split: Split) -> MnistArrays:
    # Imported here: tensorflow_datasets is slow to import and most commands that
    # only touch saved models never need it.
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(
            "mnist",
            split=split.value,
            data_dir=tfds_data_dir,
            download=False,
            as_supervised=True,
            batch_size=-1,
        )
    except (AssertionError, FileNotFoundError, tf.errors.NotFoundError) as error:
        location = tfds_data_dir or os.environ.get(TFDS_DATA_DIR_VARIABLE) or "~"
        raise DataNotFoundError(
            _missing_data_message(f"no prepared TFDS mnist under {location}")
        ) from error
    images, labels = tfds.as_numpy(dataset)
    return MnistArrays(images.astype(np.uint8), labels.astype(np.int64))


def load_mnist(split: Split | str, data_dir: str | None = None) -> MnistArrays:
    """Loads one MNIST split into memory.

    Args:
        split: "train" (60,000 examples) or "test" (10,000 examples).
        data_dir: None to use TensorFlow Datasets with `TFDS_DATA_DIR` (or its
            default folder); a folder of the four IDX .gz files to read them
            directly; or a prepared TFDS data folder. Nothing is ever downloaded.

    Returns:
        The split as uint8 images [N, 28, 28, 1] and int64 labels [N].

    Raises:
        DataNotFoundError: If the data is in none of those places.
        ValueError: If `split` is not "train" or "test".
    """
    try:
        split = Split(split)
    except ValueError:
        raise ValueError(
            f"split must be 'train' or 'test'. Received: split={split!r}"
        ) from None
    if data_dir is None:
        # Read the variable now: tfds reads it only once, when first imported.
        arrays = _load_tfds_split(os.environ.get(TFDS_DATA_DIR_VARIABLE), split)
    elif not os.path.isdir(data_dir):
        raise DataNotFoundError(_missing_data_message(f"{data_dir} is not a folder"))
    elif is_idx_directory(data_dir):
        arrays = _load_idx_split(data_dir, split)
    else:
        arrays = _load_tfds_split(data_dir, split)
    if arrays.images.shape[1:] != IMAGE_SHAPE:
        raise DataNotFoundError(
            f"MNIST images have the wrong shape. Received: shape={arrays.images.shape}"
        )
    return arrays


def epoch_order(num_examples: int, seed: int, epoch: int) -> np.ndarray:
    """Returns the shuffled example order of one epoch.

    The order depends only on (seed, epoch), so a resumed run sees exactly the
    batches an uninterrupted run would have seen.

    Returns:
        int64 array of shape [num_examples], a permutation of 0..num_examples-1.
    """
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def iterate_batches(
    arrays: MnistArrays, order: np.ndarray, batch_size: int, start_batch: int = 0
):
    """Yields (images, labels) batches in `order`, starting at `start_batch`.

    Yields:
        images: float32 tensor [batch, 28, 28, 1] in [0, 1].
        labels: int64 tensor [batch].
        The last batch may be smaller than `batch_size`.
    """
    for start in range(start_batch * batch_size, len(order), batch_size):
        indices = order[start : start + batch_size]
        yield (
            to_unit_interval(arrays.images[indices]),
            tf.constant(arrays.labels[indices]),
        )


def num_batches(num_examples: int, batch_size: int) -> int:
    """Number of batches of one epoch, the last partial batch included."""
    return -(-num_examples // batch_size)


def kfold_indices(
    num_examples: int, folds: int, fold: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Splits 0..num_examples-1 into training and validation indices for one fold.

    The examples are shuffled once with `seed` and cut into `folds` nearly equal
    parts; fold `fold` is the validation part.

    Returns:
        (train_indices, validation_indices), int64 arrays that partition the range.
    """
    if not 0 <= fold < folds:
        raise ValueError(f"fold must be in [0, {folds}). Received: fold={fold}")
    permutation = np.random.default_rng(seed).permutation(num_examples)
    parts = np.array_split(permutation, folds)
    validation = parts[fold]
    train = np.concatenate([part for index, part in enumerate(parts) if index != fold])
    return train, validation
