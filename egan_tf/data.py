"""MNIST and Fashion-MNIST loading through TensorFlow Datasets, with an
offline IDX fallback.

Pixel scaling happens in exactly one place, `to_unit_interval`: every network
and the blur take float32 images in [0, 1]. Networks that want another range
(the GAN works in [-1, 1]) convert inside the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import glob
import gzip
import hashlib
import logging
import os
import zlib

import numpy as np
import tensorflow as tf

from egan_tf.config import IMAGE_SHAPE
from egan_tf.data_paths import TFDS_DATA_DIR_VARIABLE, absolute_or_none
from egan_tf.datasets import DEFAULT_DATASET, DatasetName, DatasetSpec, dataset_spec

_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGE_MAGIC = 2051
_LABEL_MAGIC = 2049
# The checksum list the official distribution and ../shared/data ship beside
# the IDX files, in `sha256sum` format.
CHECKSUMS_FILE = "SHA256SUMS"
# Which examples `--limit N` takes depends on where the split is read from:
# TFDS stores each data set in its own shuffled order, the IDX files in the original.
TFDS_ORDER = "tfds"
IDX_ORDER = "idx"


class Split(enum.StrEnum):
    """The two splits of each data set."""

    TRAIN = "train"
    TEST = "test"


class DataError(OSError):
    """A data set cannot be read: missing, or corrupt."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The data set is neither in a prepared TFDS folder nor in a folder of
    IDX files."""


class DataCorruptError(DataError):
    """A data file is there but truncated, damaged or not what it claims."""


@dataclasses.dataclass(frozen=True)
class DataProvenance:
    """Where a split was read from, recorded in every result JSON.

    Attributes:
        dataset: "mnist" or "fashion_mnist".
        source: "tfds" (a prepared TensorFlow Datasets folder) or "idx" (the
            four standard IDX .gz files).
        location: The folder read, absolute.
        split: "train" or "test".
        order: The example order, which decides what `--limit N` takes:
            "tfds" (TFDS's own shuffled order: MNIST's test[0] is a 2) or
            "idx" (the original file order: MNIST's test[0] is a 7).
        examples: How many examples were used (after any limit).
    """

    dataset: str
    source: str
    location: str
    split: str
    order: str
    examples: int

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ImageArrays:
    """One split of a data set held in memory.

    Attributes:
        images: uint8 array of shape [N, 28, 28, 1], grey levels 0..255.
        labels: int64 array of shape [N], classes 0..9.
        provenance: Where the split came from, or None for arrays made in code.
    """

    images: np.ndarray
    labels: np.ndarray
    provenance: DataProvenance | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, count: int | None) -> ImageArrays:
        """Returns the first `count` examples (all of them when None)."""
        if count is None:
            return self
        return self.select(slice(0, count))

    def select(self, indices: np.ndarray | slice) -> ImageArrays:
        """Returns the examples at `indices` (an int array or a slice), still
        marked with the data set and source they came from."""
        images, labels = self.images[indices], self.labels[indices]
        provenance = self.provenance
        if provenance is not None:
            provenance = dataclasses.replace(provenance, examples=len(labels))
        return ImageArrays(images, labels, provenance)


def dataset_of(arrays: ImageArrays) -> str:
    """The data set `arrays` were read from; arrays made in code count as the
    default data set."""
    return (
        DEFAULT_DATASET.value
        if arrays.provenance is None
        else arrays.provenance.dataset
    )


def provenance_of(arrays: ImageArrays) -> dict | None:
    """Where `arrays` came from as a JSON-ready dict, or None if unknown."""
    return None if arrays.provenance is None else arrays.provenance.to_dict()


# Grey levels of the 8-bit images both data sets and most PNG files hold.
MAX_GREY_LEVEL = 255


def to_unit_interval(
    images: np.ndarray | tf.Tensor, max_level: int = MAX_GREY_LEVEL
) -> tf.Tensor:
    """Converts integer grey levels to float32 in [0, 1]: the one place pixels
    are scaled.

    Args:
        images: integer tensor or array of any shape, values 0..max_level.
        max_level: The white level: 255 for 8-bit images, 65535 for 16-bit.

    Returns:
        float32 tensor of the same shape, values in [0, 1].
    """
    return tf.cast(images, tf.float32) / float(max_level)


def _missing_data_message(spec: DatasetSpec, detail: str) -> str:
    return (
        f"{spec.title} not found ({detail}). Either set {TFDS_DATA_DIR_VARIABLE} "
        f"to a prepared TensorFlow Datasets folder (one holding {spec.name}/3.0.1), "
        f"or pass --data-dir pointing at a folder with the four standard "
        f"{spec.title} IDX .gz files."
    )


def _expected_checksums(directory: str) -> dict[str, str]:
    """File name -> SHA-256 from the folder's SHA256SUMS; empty without one."""
    path = os.path.join(directory, CHECKSUMS_FILE)
    if not os.path.isfile(path):
        return {}
    sums = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 2:
                sums[parts[1].lstrip("*")] = parts[0].lower()
    return sums


def _read_idx(
    path: str, expected_magic: int, expected_sha256: str | None
) -> np.ndarray:
    with open(path, "rb") as handle:
        compressed = handle.read()
    if (
        expected_sha256 is not None
        and hashlib.sha256(compressed).hexdigest() != expected_sha256
    ):
        raise DataCorruptError(
            f"{path} is corrupt: its SHA-256 does not match {CHECKSUMS_FILE}."
        )
    try:
        data = gzip.decompress(compressed)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise DataCorruptError(
            f"{path} is corrupt or truncated ({str(error) or type(error).__name__})."
        ) from None
    magic = int.from_bytes(data[0:4], "big") if len(data) >= 4 else None
    if magic != expected_magic:
        raise DataCorruptError(
            f"{path} is not an IDX file of the expected kind. "
            f"Received: magic={magic}, expected {expected_magic}"
        )
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    if len(data) != 4 + 4 * ndim + int(np.prod(dims)):
        raise DataCorruptError(
            f"{path} is corrupt: {len(data)} bytes do not hold its {dims} header."
        )
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def is_idx_directory(directory: str) -> bool:
    """True when `directory` holds the four standard IDX .gz files (MNIST and
    Fashion-MNIST name them alike)."""
    return all(
        os.path.isfile(os.path.join(directory, name))
        for names in _IDX_FILES.values()
        for name in names
    )


def _load_idx_split(directory: str, split: Split, spec: DatasetSpec) -> ImageArrays:
    image_name, label_name = _IDX_FILES[split.value]
    sums = _expected_checksums(directory)
    images = _read_idx(
        os.path.join(directory, image_name), _IMAGE_MAGIC, sums.get(image_name)
    )
    labels = _read_idx(
        os.path.join(directory, label_name), _LABEL_MAGIC, sums.get(label_name)
    )
    if images.shape[0] != labels.shape[0]:
        raise DataCorruptError(
            f"{directory} holds {images.shape[0]} {split} images but "
            f"{labels.shape[0]} labels."
        )
    provenance = DataProvenance(
        spec.name, "idx", os.path.abspath(directory), split.value, IDX_ORDER,
        len(labels),
    )  # fmt: skip
    return ImageArrays(images[..., np.newaxis], labels.astype(np.int64), provenance)


@contextlib.contextmanager
def _absl_warnings_silenced():
    """TFDS logs a warning through absl before it fails on a folder with no
    prepared data set; the one-line error below says it better."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _tfrecord_files(tfds_data_dir: str, split: Split, spec: DatasetSpec) -> str:
    pattern = os.path.join(
        tfds_data_dir, spec.name, "*", f"{spec.name}-{split}.tfrecord*"
    )
    return ", ".join(sorted(glob.glob(pattern))) or pattern


def _tfds_split_name(builder, split: Split, limit: int | None) -> str:
    """`split`, or a TFDS slice of its first `limit` examples, so that a small
    `--limit` reads only the records it uses (a slice is the same examples as
    the split's head, in the same order)."""
    if limit is None:
        return split.value
    try:
        available = builder.info.splits[split.value].num_examples
    except KeyError:
        # Not prepared: reading the split raises the error reported below.
        return split.value
    return split.value if limit >= available else f"{split.value}[:{limit}]"


def _load_tfds_split(
    tfds_data_dir: str | None, split: Split, spec: DatasetSpec, limit: int | None
) -> ImageArrays:
    # Imported here: tensorflow_datasets is slow to import and most commands that
    # only touch saved models never need it.
    import tensorflow_datasets as tfds

    location = tfds_data_dir or os.path.expanduser("~/tensorflow_datasets")
    try:
        with _absl_warnings_silenced():
            builder = tfds.builder(spec.name, data_dir=tfds_data_dir)
            dataset = builder.as_dataset(
                split=_tfds_split_name(builder, split, limit),
                as_supervised=True,
                batch_size=-1,
            )
            images, labels = tfds.as_numpy(dataset)
    except (AssertionError, FileNotFoundError, tf.errors.NotFoundError) as error:
        raise DataNotFoundError(
            _missing_data_message(
                spec, f"no prepared TFDS {spec.name} under {location}"
            )
        ) from error
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
        raise DataCorruptError(
            f"{_tfrecord_files(location, split, spec)} is corrupt or truncated "
            f"({type(error).__name__})."
        ) from None
    provenance = DataProvenance(
        spec.name, "tfds", os.path.abspath(location), split.value, TFDS_ORDER,
        len(labels),
    )  # fmt: skip
    return ImageArrays(images.astype(np.uint8), labels.astype(np.int64), provenance)


def load_split(
    split: Split | str,
    data_dir: str | None = None,
    dataset: DatasetName | str = DEFAULT_DATASET,
    limit: int | None = None,
) -> ImageArrays:
    """Loads one split of a data set into memory.

    Args:
        split: "train" (60,000 examples) or "test" (10,000 examples).
        data_dir: None to use TensorFlow Datasets with `TFDS_DATA_DIR` (or its
            default folder); a folder of the four IDX .gz files to read them
            directly; or a prepared TFDS data folder. Nothing is ever downloaded.
        dataset: "mnist" or "fashion_mnist". An IDX folder cannot say which
            data set it holds: this names it.
        limit: Only the split's first `limit` examples (None: all of them).
            From TFDS only those records are read.

    Returns:
        The split as uint8 images [N, 28, 28, 1] and int64 labels [N].

    The two sources hold the same examples in different orders (TFDS's own
    shuffle, or the original file order), so the first N examples differ by
    source; `ImageArrays.provenance` records which was read.

    Raises:
        DataNotFoundError: If the data is in none of those places.
        DataCorruptError: If a file is truncated, damaged, or does not match
            the folder's SHA256SUMS.
        ValueError: If `split` is not "train" or "test", `dataset` is not a
            known data set, or `limit` is below 1.
    """
    spec = dataset_spec(dataset)
    try:
        split = Split(split)
    except ValueError:
        raise ValueError(
            f"split must be 'train' or 'test'. Received: split={split!r}"
        ) from None
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1. Received: limit={limit}")
    if data_dir is None:
        # Read the variable now: tfds reads it only once, when first imported.
        arrays = _load_tfds_split(
            absolute_or_none(os.environ.get(TFDS_DATA_DIR_VARIABLE)),
            split,
            spec,
            limit,
        )
    elif not os.path.isdir(data_dir):
        raise DataNotFoundError(
            _missing_data_message(spec, f"{data_dir} is not a folder")
        )
    elif is_idx_directory(data_dir):
        arrays = _load_idx_split(data_dir, split, spec)
    else:
        arrays = _load_tfds_split(os.path.abspath(data_dir), split, spec, limit)
    if arrays.images.shape[1:] != IMAGE_SHAPE:
        raise DataCorruptError(
            f"{spec.title} images have the wrong shape. Received: shape={arrays.images.shape}"
        )
    return arrays.take(limit)
