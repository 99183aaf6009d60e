"""The measuring commands: `evaluate` (the main job), `blur` and `samples`."""

from __future__ import annotations

import click

from egan_tf.atomic_files import check_writable
from egan_tf.commands.data_options import (
    data_dir_option,
    dataset_option,
    models_option,
)
from egan_tf.commands.execution_options import precision_option
from egan_tf.commands.options import (
    LIMIT_HELP,
    BlurAngle,
    BlurLength,
    FiniteFloat,
    FloatList,
    build_request,
    classifier_option,
    float_list_text,
    given,
    image_reading_options,
    import_tensorflow_quietly,
    one_line_errors,
    png_option,
)
from egan_tf.data_paths import DataSource
from egan_tf.defenses import Method, parse_methods
from egan_tf.grid_spec import (
    DEFAULT_GRID_BATCH_SIZE,
    PAPER_ANGLES,
    PAPER_LENGTH_SCALE,
    PAPER_LENGTHS,
    SHAKE_LENGTHS,
    BlurKind,
    GridSpec,
)
from egan_tf.image_reading import ImageReading


@click.command("samples")
@dataset_option()
@models_option()
@click.option("--count", type=click.IntRange(1, 400), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@png_option("samples.png")
@one_line_errors
def samples_command(dataset, models_dir, count, seed, output):
    """Write a PNG grid of images drawn from the shipped generator G."""
    build_request(check_writable, output)
    import_tensorflow_quietly()
    from egan_tf.model_io import GENERATOR_FILE, load_folder_model
    from egan_tf.plotting import generator_samples_figure, save_figure

    generator = load_folder_model(models_dir, GENERATOR_FILE)
    save_figure(generator_samples_figure(generator, count, seed), output)
    click.echo(f"Wrote {output}")


# evaluate's options that only a grid evaluation reads.
GRID_ONLY_OPTIONS = {
    "lengths": "--lengths",
    "angles": "--angles",
    "length_scale": "--length-scale",
    "csv_path": "--csv",
    "figures_dir": "--figures",
    "logdir": "--logdir",
}


@click.command("evaluate")
@dataset_option()
@models_option()
@data_dir_option()
@click.option("--limit", type=click.IntRange(min=1), default=None, help=LIMIT_HELP)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=DEFAULT_GRID_BATCH_SIZE,
    show_default=True,
    help="Test images per graph call.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the results as JSON here.",
)
@click.option(
    "--grid",
    is_flag=True,
    help="Run the paper's experiment: accuracy over blur lengths x angles, "
    "without and with the EGAN.",
)
@click.option(
    "--lengths",
    type=FloatList(),
    default=float_list_text(PAPER_LENGTHS),
    show_default=True,
    help="With --grid: blur lengths l (fractions of the image side).",
)
@click.option(
    "--angles",
    type=FloatList(),
    default=float_list_text(PAPER_ANGLES),
    show_default=True,
    help="With --grid: blur angles in degrees.",
)
@click.option(
    "--length-scale",
    type=FiniteFloat(),
    default=PAPER_LENGTH_SCALE,
    show_default=True,
    help="With --grid: multiplier on every grid length.",
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --grid: write the grid rows as CSV here.",
)
@click.option(
    "--figures",
    "figures_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --grid: write PNG heatmaps and example images here.",
)
@click.option(
    "--logdir",
    type=click.Path(file_okay=False),
    default=None,
    help="With --grid: write the grid to TensorBoard here.",
)
@click.option(
    "--methods",
    default=None,
    help="With --grid: compare defences side by side, a comma-separated list of "
    f"{', '.join(Method)}, or all (every method whose networks the models "
    "folder holds).",
)
@click.option(
    "--blur",
    "blur_kind",
    type=click.Choice([str(kind) for kind in BlurKind]),
    default=str(BlurKind.FOURIER),
    show_default=True,
    help="With --methods: the Fourier blur model the networks were trained with; "
    "spatial, an independent line kernel; trail, a one-sided streak that fades; "
    "shake, random camera-shake trajectories (--lengths are then extents, "
    "default 2 to 10 px, and there is no angle axis).",
)
@click.option(
    "--noise",
    type=FiniteFloat(minimum=0.0),
    default=0.0,
    show_default=True,
    help="With --methods: read noise (standard deviation on the [0, 1] scale) "
    "added after the blur, then 8-bit quantisation; 0: no sensor model.",
)
@click.option(
    "--refine-steps",
    type=click.IntRange(min=0),
    default=None,
    help="With --methods: Adam steps on the latent in egan-refine (and in gated's "
    "restoration) instead of defense.json's. The cost per image grows with them.",
)
@click.option(
    "--images",
    "images_path",
    type=click.Path(),
    default=None,
    help="Run the methods (all by default, or --methods) on your own labelled "
    "images as they are, instead of the test set: an .npz with images "
    "([N, 28, 28] or [N, 28, 28, 1], uint8 0-255 or float 0-1) and labels "
    "([N], 0-9), or a folder PATH/<label>/*.png (label folders named 0-9 or "
    "by the data set's class names, e.g. ankle_boot). Other sizes with "
    "--resize, dark on light with --invert.",
)
@image_reading_options
@classifier_option()
@precision_option()
@click.option("--quiet", is_flag=True, help="No progress bar.")
@one_line_errors
def evaluate_command(
    dataset,
    models_dir,
    data_dir,
    limit,
    batch_size,
    json_path,
    grid,
    lengths,
    angles,
    length_scale,
    csv_path,
    figures_dir,
    logdir,
    methods,
    blur_kind,
    noise,
    refine_steps,
    images_path,
    resize,
    invert,
    classifier_path,
    precision,
    quiet,
):
    """Measure the shipped models on the test set (--grid: the paper's experiment)."""
    from egan_tf.evaluate_job import (
        EvaluateRequest,
        EvaluationOutputs,
        MethodsSelection,
        run_evaluate,
    )

    if refine_steps is not None and methods is None and images_path is None:
        raise click.UsageError("--refine-steps goes with --methods or --images.")
    if images_path is not None:
        refused = {"grid": "--grid", "limit": "--limit", "blur_kind": "--blur"}
        for name, option in {**refused, "noise": "--noise"}.items():
            if given(name):
                raise click.UsageError(f"{option} does not go with --images.")
    else:
        for name in ("resize", "invert"):
            if given(name):
                raise click.UsageError(f"--{name} goes with --images.")
        if methods is not None and not grid:
            raise click.UsageError("--methods goes with --grid.")
    if given("blur_kind") and methods is None:
        raise click.UsageError(f"--blur {blur_kind} goes with --methods.")
    if given("noise") and methods is None:
        raise click.UsageError("--noise goes with --methods.")
    if not grid:
        for name, option in GRID_ONLY_OPTIONS.items():
            if given(name):
                raise click.UsageError(f"{option} goes with --grid.")
    spec = None
    if grid:
        blur = BlurKind(blur_kind)
        if blur == BlurKind.SHAKE:
            # Shake has its own strengths and draws its own directions.
            lengths = lengths if given("lengths") else SHAKE_LENGTHS
            angles = angles if given("angles") else (0.0,)
        spec = build_request(
            GridSpec, lengths, angles, length_scale, blur, batch_size, noise
        )
    selection = None
    if images_path is not None and methods is None:
        methods = "all"
    if methods is not None:
        selection = build_request(
            MethodsSelection,
            build_request(parse_methods, methods),
            refine_steps,
            skip_unavailable=methods.strip() == "all",
        )
    evaluate_request = build_request(
        EvaluateRequest,
        models_dir=models_dir,
        data=build_request(DataSource, data_dir, limit, dataset),
        grid=spec,
        methods=selection,
        outputs=EvaluationOutputs(json_path, csv_path, figures_dir, logdir),
        batch_size=batch_size,
        show_progress=not quiet,
        images=images_path,
        image_reading=ImageReading(resize, invert),
        classifier=classifier_path,
        precision=precision,
    )
    import_tensorflow_quietly()
    run_evaluate(evaluate_request, echo=click.echo)


@click.command("blur")
@click.option(
    "--length",
    type=BlurLength(),
    required=True,
    help="Blur length l, a fraction of the image side (0.05 = 1.4 px on 28 px).",
)
@click.option(
    "--angle",
    type=BlurAngle(),
    default=0.0,
    show_default=True,
    help="Blur angle in degrees; 0 is motion along the rows.",
)
@click.option(
    "--count",
    type=click.IntRange(1, 64),
    default=10,
    show_default=True,
    help="How many test images to show.",
)
@png_option("blur.png")
@dataset_option()
@data_dir_option()
@one_line_errors
def blur_command(length, angle, count, output, dataset, data_dir):
    """Write a PNG grid of clean test images above their blurred versions."""
    data = build_request(DataSource, data_dir, count, dataset)
    build_request(check_writable, output)
    import_tensorflow_quietly()
    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import to_unit_interval
    from egan_tf.plotting import image_rows_figure, save_figure

    clean = to_unit_interval(data.load("test").images)
    blurred = apply_motion_blur(clean, length, angle)
    figure = image_rows_figure(
        [clean.numpy(), blurred.numpy()],
        ["clean", f"l={length:g}, θ={angle:g}°"],
        title=f"Motion blur: {length * 28:.2f} px at {angle:g}°",
    )
    save_figure(figure, output)
    click.echo(f"Wrote {output}")
