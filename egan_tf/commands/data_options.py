"""Where a command's data and networks live: the data set, its data folder,
its models folder and the folder a training command writes to."""

from __future__ import annotations

import os

import click

from egan_tf.datasets import DEFAULT_DATASET, DatasetName, dataset_spec

# The checkout's saved_models/, beside the package.
DEFAULT_MODELS_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "saved_models",
)

DATA_DIR_HELP = (
    "Folder with the data set's four IDX .gz files (or a prepared TFDS folder). "
    "Default: TensorFlow Datasets with TFDS_DATA_DIR."
)
MODELS_DEFAULT_TEXT = "saved_models/, or saved_models/fashion_mnist/ for that data set"


def dataset_option():
    """`--dataset mnist|fashion_mnist`, read before every other option so that
    the models folders can default to the data set's own."""
    return click.option(
        "--dataset",
        type=click.Choice([name.value for name in DatasetName]),
        default=DEFAULT_DATASET.value,
        show_default=True,
        is_eager=True,
        help="The data set: its test images, and its networks in saved_models/.",
    )


def dataset_folder(subfolder: str = ""):
    """A click callback that fills an omitted folder option with the data
    set's models folder (joined with `subfolder`)."""

    def fill(ctx, param, value):
        if value is not None:
            return value
        folder = dataset_spec(ctx.params.get("dataset", DEFAULT_DATASET)).models_folder(
            DEFAULT_MODELS_DIR
        )
        return os.path.join(folder, subfolder) if subfolder else folder

    return fill


def models_option(
    help_text: str = "Folder of the shipped models.", must_exist: bool = True
):
    """`--models DIR`, defaulting to the data set's models folder.

    Args:
        help_text: The option's help.
        must_exist: Whether the command reads the folder, so that a folder
            that is not there is refused at once, before TensorFlow loads;
            False for a folder the command writes.
    """
    return click.option(
        "--models",
        "models_dir",
        type=click.Path(file_okay=False, exists=must_exist),
        default=None,
        callback=dataset_folder(),
        show_default=MODELS_DEFAULT_TEXT,
        help=help_text,
    )


def data_dir_option():
    return click.option(
        "--data-dir", type=click.Path(file_okay=False), default=None, help=DATA_DIR_HELP
    )


def output_option(what: str):
    return click.option(
        "--output",
        type=click.Path(file_okay=False),
        default=None,
        callback=dataset_folder(),
        show_default=MODELS_DEFAULT_TEXT,
        help=f"Folder for {what}.",
    )
