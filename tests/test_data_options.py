"""The folder options default to the data set's own models folder, whatever
the order the options are given in."""

import os

import click
import pytest
from click.testing import CliRunner

from egan_tf.commands.data_options import (
    DEFAULT_MODELS_DIR,
    dataset_folder,
    dataset_option,
    models_option,
    output_option,
)


@click.command()
@models_option()
@output_option("things")
@click.option("--export", default=None, callback=dataset_folder("egan_defense"))
@dataset_option()
def show(models_dir, output, export, dataset):
    click.echo(f"{dataset} {models_dir} {output} {export}")


FASHION = os.path.join(DEFAULT_MODELS_DIR, "fashion_mnist")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], ["mnist", DEFAULT_MODELS_DIR, DEFAULT_MODELS_DIR]),
        (["--dataset", "fashion_mnist"], ["fashion_mnist", FASHION, FASHION]),
        # The data set given last still decides the defaults.
        (
            ["--output", "mine", "--dataset", "fashion_mnist"],
            ["fashion_mnist", FASHION, "mine"],
        ),
        (
            ["--models", DEFAULT_MODELS_DIR, "--dataset", "fashion_mnist"],
            ["fashion_mnist", DEFAULT_MODELS_DIR, FASHION],
        ),
    ],
)
def test_folders_default_to_the_data_sets_own(arguments, expected):
    result = CliRunner().invoke(show, arguments)
    assert result.exit_code == 0, result.output
    dataset, models, output, export = result.output.split()
    assert [dataset, models, output] == expected
    assert export == os.path.join(
        FASHION if dataset == "fashion_mnist" else DEFAULT_MODELS_DIR, "egan_defense"
    )
