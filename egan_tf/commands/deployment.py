"""The deployment commands: `export` to TF Serving and `predict` against it."""

from __future__ import annotations

import os

import click

from egan_tf.atomic_files import check_writable
from egan_tf.commands.data_options import (
    data_dir_option,
    dataset_folder,
    dataset_option,
    models_option,
)
from egan_tf.commands.options import (
    LABELLED_SIGNATURES,
    Address,
    BlurAngle,
    BlurLength,
    build_request,
    classifier_option,
    given,
    image_reading_options,
    import_tensorflow_quietly,
    one_line_errors,
)
from egan_tf.data_paths import DataSource
from egan_tf.model_files import check_trained_on

# The export's folder inside the data set's models folder.
EXPORT_FOLDER = "egan_defense"


@click.command("export")
@dataset_option()
@models_option("Folder of the shipped networks to export.")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default=None,
    callback=dataset_folder(EXPORT_FOLDER),
    show_default=f"{EXPORT_FOLDER}/ in the data set's models folder",
    help="Folder of version directories; the export goes to the next free number.",
)
@click.option(
    "--serving-base-path",
    default="/models/egan_defense",
    show_default=True,
    help="Absolute path at which the model server sees --output (written to "
    "models.config; the default suits the official docker image).",
)
@data_dir_option()
@click.option(
    "--measure/--no-measure",
    default=True,
    show_default=True,
    help="Measure the exported model on the data set's test images and record it.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Measure on the first N test images only (see evaluate --help for which N).",
)
@classifier_option()
@one_line_errors
def export_command(
    dataset,
    models_dir,
    output,
    serving_base_path,
    data_dir,
    measure,
    limit,
    classifier_path,
):
    """Export blur, EGAN and classifier as one SavedModel for TF Serving."""
    if not os.path.isabs(serving_base_path):
        raise click.BadParameter(
            f"must be an absolute path. Received: {serving_base_path}",
            param_hint="--serving-base-path",
        )
    data = build_request(DataSource, data_dir, limit, dataset) if measure else None
    build_request(check_trained_on, models_dir, dataset)
    build_request(check_writable, output, is_folder=True)
    import_tensorflow_quietly()
    from egan_tf.export import export_shipped_models
    from egan_tf.export.contract import measured_of
    from egan_tf.reporting import format_export_entry
    from egan_tf.user_classifier import load_user_classifier

    classifier = None
    if classifier_path is not None:
        classifier = load_user_classifier(classifier_path)
        click.echo(f"Classifier C: {classifier.describe()}")
    test = None if data is None else data.load("test")
    result, entry = export_shipped_models(
        models_dir, output, serving_base_path, test, classifier
    )
    click.echo(f"Wrote version {result.version} to {result.path}")
    if measured_of(entry):
        click.echo(format_export_entry(entry))


@click.command("predict")
@click.argument("image_files", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--rest", type=Address(), help="Model server REST address, e.g. localhost:8501."
)
@click.option(
    "--grpc", type=Address(), help="Model server gRPC address, e.g. localhost:8500."
)
@click.option(
    "--local",
    type=click.Path(file_okay=False, exists=True),
    help="Run in-process on this SavedModel (a version folder or their parent).",
)
@click.option(
    "--signature",
    type=click.Choice(LABELLED_SIGNATURES),
    default="serving_default",
    show_default=True,
)
@click.option("--model-name", default="egan_defense", show_default=True)
@click.option(
    "--length",
    type=BlurLength(),
    default=None,
    help="Blur length l for blur_and_defend.",
)
@click.option(
    "--angle",
    type=BlurAngle(),
    default=None,
    help="Blur angle in degrees for blur_and_defend.",
)
@click.option(
    "--start",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Without image files: first test index to send (TFDS or IDX order, "
    "see evaluate --help).",
)
@click.option(
    "--count",
    type=click.IntRange(1, 10000),
    default=8,
    show_default=True,
    help="Without image files: how many test images to send.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Images per request.",
)
@image_reading_options
@dataset_option()
@data_dir_option()
@one_line_errors
def predict_command(
    image_files,
    rest,
    grpc,
    local,
    signature,
    model_name,
    length,
    angle,
    start,
    count,
    batch_size,
    resize,
    invert,
    dataset,
    data_dir,
):
    """Send PNG or JPEG files or folders of them (28x28, white on black, unless
    --resize or --invert; a folder of <label>/ folders also gives the true
    labels) or test images to the exported model, in batches, and print
    labels and probabilities."""
    from egan_tf.export.contract import Signature
    from egan_tf.prediction_rows import format_prediction_rows, prediction_rows
    from egan_tf.serving import (
        ServingError,
        check_blur_setting,
        check_one_target,
        make_client,
        predict_in_batches,
        signature_inputs,
    )
    from egan_tf.user_images import ImageReading, expand_image_paths, load_image_files

    signature = Signature(signature)
    try:
        check_one_target(rest, grpc, local)
        check_blur_setting(signature, length, angle)
    except ValueError as error:
        # Refused before TensorFlow loads, as every other bad option is.
        raise click.UsageError(str(error)) from None
    if image_files:
        for name in ("start", "count"):
            if given(name):
                raise click.UsageError(f"--{name} goes without image files.")
    else:
        for name in ("resize", "invert"):
            if given(name):
                raise click.UsageError(f"--{name} goes with image files.")
    if local is not None:
        # The version directory is found once, for the card and the client.
        local, dataset = _local_export_and_dataset(local, dataset)
    data = build_request(DataSource, data_dir, None, dataset)
    import_tensorflow_quietly()
    try:
        client = make_client(rest, grpc, local, model_name)
    except ServingError as error:
        raise click.ClickException(str(error)) from None
    if image_files:
        sources, truth = expand_image_paths(image_files, data.spec.class_names)
        images = load_image_files(sources, ImageReading(resize, invert))
    else:
        from egan_tf.data import to_unit_interval

        test = data.load("test")
        if start >= len(test):
            raise click.BadParameter(
                f"must be below {len(test)}.", param_hint="--start"
            )
        images = to_unit_interval(test.images[start : start + count]).numpy()
        truth = test.labels[start : start + count]
        sources = [
            f"{dataset} test {index}" for index in range(start, start + len(images))
        ]
    inputs = signature_inputs(signature, images, length, angle)
    try:
        outputs = predict_in_batches(client, signature, inputs, batch_size)
    except ServingError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        format_prediction_rows(
            prediction_rows(sources, outputs, truth), data.spec.class_names
        )
    )


def _local_export_and_dataset(local: str, dataset: str) -> tuple[str, str]:
    """The version directory `--local` names, and the data set to name classes
    and read test images by: the one its card records, which `--dataset` may
    only repeat.

    A digit model's answer printed under article names (or the reverse) is
    wrong without any sign of it, so a mismatch is refused."""
    from egan_tf.export.contract import exported_dataset
    from egan_tf.serving import ServingError
    from egan_tf.serving.local import latest_version_dir

    try:
        version_dir = latest_version_dir(local)
    except ServingError as error:
        raise click.ClickException(str(error)) from None
    exported = exported_dataset(version_dir)
    if exported is None:
        return version_dir, dataset
    if given("dataset") and dataset != exported:
        raise click.UsageError(
            f"The export at {version_dir} holds {exported}'s networks: pass "
            f"--dataset {exported}, or leave --dataset out. Received: "
            f"--dataset {dataset}"
        )
    return version_dir, exported
