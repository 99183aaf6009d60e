"""The deployment commands: `export` to TF Serving and `predict` against it."""

from __future__ import annotations

import os

import click

from egan_tf.atomic_files import check_writable
from egan_tf.commands.options import (
    DEFAULT_MODELS_DIR,
    LABELLED_SIGNATURES,
    Address,
    BlurAngle,
    BlurLength,
    build_request,
    data_dir_option,
    import_tensorflow_quietly,
    models_option,
    one_line_errors,
)
from egan_tf.data_paths import DataSource


@click.command("export")
@models_option("Folder of the shipped networks to export.")
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    default=os.path.join(DEFAULT_MODELS_DIR, "egan_defense"),
    show_default=True,
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
    help="Measure the exported model on the MNIST test set and record it.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Measure on the first N test images only (see evaluate --help for which N).",
)
@one_line_errors
def export_command(models_dir, output, serving_base_path, data_dir, measure, limit):
    """Export blur, EGAN and classifier as one SavedModel for TF Serving."""
    if not os.path.isabs(serving_base_path):
        raise click.BadParameter(
            f"must be an absolute path. Received: {serving_base_path}",
            param_hint="--serving-base-path",
        )
    data = build_request(DataSource, data_dir, limit) if measure else None
    build_request(check_writable, output, is_folder=True)
    import_tensorflow_quietly()
    from egan_tf.export import export_shipped_models
    from egan_tf.reporting import format_export_entry

    test = None if data is None else data.load("test")
    result, entry = export_shipped_models(models_dir, output, serving_base_path, test)
    click.echo(f"Wrote version {result.version} to {result.path}")
    if entry["measured_on_mnist_test"]:
        click.echo(format_export_entry(entry))


@click.command("predict")
@click.argument("png_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--rest", type=Address(), help="Model server REST address, e.g. localhost:8501."
)
@click.option(
    "--grpc", type=Address(), help="Model server gRPC address, e.g. localhost:8500."
)
@click.option(
    "--local",
    type=click.Path(file_okay=False),
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
    help="Without PNG files: first MNIST test index to send (TFDS or IDX order, "
    "see evaluate --help).",
)
@click.option(
    "--count",
    type=click.IntRange(1, 10000),
    default=8,
    show_default=True,
    help="Without PNG files: how many MNIST test images to send.",
)
@data_dir_option()
@one_line_errors
def predict_command(
    png_files,
    rest,
    grpc,
    local,
    signature,
    model_name,
    length,
    angle,
    start,
    count,
    data_dir,
):
    """Send PNG files (28x28, white on black) or MNIST test images to the
    exported model and print labels and probabilities."""
    from egan_tf.export.contract import Signature
    from egan_tf.serving import (
        ServingError,
        format_prediction_rows,
        load_png_images,
        make_client,
        prediction_rows,
        signature_inputs,
    )

    signature = Signature(signature)
    data = build_request(DataSource, data_dir)
    import_tensorflow_quietly()
    try:
        client = make_client(rest, grpc, local, model_name)
    except ServingError as error:
        raise click.ClickException(str(error)) from None
    if png_files:
        images, sources, truth = load_png_images(png_files), list(png_files), None
    else:
        from egan_tf.data import to_unit_interval

        test = data.load("test")
        if start >= len(test):
            raise click.BadParameter(
                f"must be below {len(test)}.", param_hint="--start"
            )
        images = to_unit_interval(test.images[start : start + count]).numpy()
        truth = test.labels[start : start + count]
        sources = [f"mnist test {index}" for index in range(start, start + len(images))]
    inputs = signature_inputs(signature, images, length, angle)
    try:
        outputs = client.predict(signature, inputs)
    except ServingError as error:
        raise click.ClickException(str(error)) from None
    click.echo(format_prediction_rows(prediction_rows(sources, outputs, truth)))
