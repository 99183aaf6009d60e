"""The data sets the product runs on, and what each one is (no TensorFlow here).

Both are 28x28 grey images in ten classes, so every network, blur and defence
runs on either unchanged. What differs is named here, once: where TFDS keeps
the data set, what its classes are called, and the folder its shipped
networks live in. Settings that depend on the data (the blur length scale at
which blur starts to hurt, the defence settings) are not constants: they are
measured per data set and shipped in that data set's models folder.
"""

from __future__ import annotations

import dataclasses
import enum
import os


class DatasetName(enum.StrEnum):
    """The data sets `--dataset` accepts."""

    MNIST = "mnist"
    FASHION_MNIST = "fashion_mnist"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What the product needs to know about one data set.

    Attributes:
        name: The data set's TFDS name, also its `--dataset` value.
        title: How people write it ("Fashion-MNIST").
        class_names: The ten labels' names, in label order, as the data set's
            own documentation gives them (TFDS's `label.labels.txt`).
        item: What one image shows, for messages and figure titles ("digit").
        models_subfolder: Where its shipped networks live inside
            `saved_models/` ("" for MNIST, whose networks were shipped first
            and stay where every earlier command and number expects them).
        length_scale: The rescaled grid's multiplier on the paper's blur
            lengths: the smallest at which the data set's classifier falls
            the way the paper's results imply, measured by
            `experiments/length_scale_scan.py` (its models folder's
            `length_scale_scan.json`). The methods grids of the line-blur
            families and the held-out settings use it.
    """

    name: DatasetName
    title: str
    class_names: tuple[str, ...]
    item: str
    models_subfolder: str
    length_scale: float

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def models_folder(self, root: str) -> str:
        """The folder of this data set's networks under the `root` of all
        shipped models."""
        return (
            os.path.join(root, self.models_subfolder) if self.models_subfolder else root
        )


DATASETS = {
    DatasetName.MNIST: DatasetSpec(
        name=DatasetName.MNIST,
        title="MNIST",
        class_names=tuple(str(digit) for digit in range(10)),
        item="digit",
        models_subfolder="",
        length_scale=6.0,
    ),
    DatasetName.FASHION_MNIST: DatasetSpec(
        name=DatasetName.FASHION_MNIST,
        title="Fashion-MNIST",
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        item="article",
        models_subfolder="fashion_mnist",
        length_scale=3.0,
    ),
}
DEFAULT_DATASET = DatasetName.MNIST


def dataset_spec(name: DatasetName | str = DEFAULT_DATASET) -> DatasetSpec:
    """The spec of data set `name` ("mnist" or "fashion_mnist").

    Raises:
        ValueError: For any other name.
    """
    try:
        return DATASETS[DatasetName(name)]
    except ValueError:
        known = ", ".join(DatasetName)
        raise ValueError(
            f"dataset must be one of {known}. Received: dataset={name!r}"
        ) from None
