"""egan-tf command line: measure and undo motion blur in front of a classifier.

Every command is thin: options -> one request (config records, checked
before TensorFlow is imported) -> one library call -> print. Errors the user
can fix are reported on one line: exit 2 for a bad option, 1 for a failure
while working.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys

# Quiet TensorFlow's C++ start-up chatter before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click

from egan_tf import config
from egan_tf.atomic_files import check_writable
from egan_tf.data_paths import DataSource
from egan_tf.defenses import Method, parse_methods
from egan_tf.grid_spec import (
    DEFAULT_GRID_BATCH_SIZE,
    PAPER_ANGLES,
    PAPER_LENGTHS,
    BlurKind,
    GridSpec,
    check_blur_angle,
    check_blur_length,
)


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its native start-up lines (CUDA probing, oneDNN
    notices) kept off the terminal. They are written by C++ before any Python
    logging setting applies. TF_CPP_MIN_LOG_LEVEL=0 shows them again."""
    if "tensorflow" in sys.modules or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in (
        "0",
        "1",
    ):
        return
    saved_stderr = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices()
            tf.constant(0.0).numpy()
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)


DEFAULT_MODELS_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "saved_models"
)
DEFAULT_TRAININGS = {
    "blur_estimator": config.DEFAULT_BLUR_ESTIMATOR_TRAINING,
    "classifier": config.DEFAULT_CLASSIFIER_TRAINING,
    "gan": config.PAPER_GAN_TRAINING,
    "encoder": config.PAPER_ENCODER_TRAINING,
}
DATA_DIR_HELP = (
    "Folder with the four MNIST IDX .gz files (or a prepared TFDS folder). "
    "Default: TensorFlow Datasets with TFDS_DATA_DIR."
)


def _models_option(help_text: str = "Folder of the shipped models."):
    return click.option(
        "--models",
        "models_dir",
        type=click.Path(file_okay=False),
        default=DEFAULT_MODELS_DIR,
        show_default=True,
        help=help_text,
    )


def _data_dir_option():
    return click.option(
        "--data-dir", type=click.Path(file_okay=False), default=None, help=DATA_DIR_HELP
    )


def _png_option(default: str):
    return click.option(
        "--output",
        type=click.Path(dir_okay=False),
        default=default,
        show_default=True,
        help="PNG file to write.",
    )


def _one_line_errors(command):
    """Runs a command after its options are parsed and checked, with
    TensorFlow imported quietly first, and turns the errors a user can fix
    into one line: exit 2 for a bad option or request (as click does), 1 for
    a failure while working (missing or corrupt data or models)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from egan_tf.errors import TrainingInterrupted

        try:
            return command(*args, **kwargs)
        except TrainingInterrupted as error:
            click.echo(str(error), err=True)
            sys.exit(130)
        except (ValueError, OSError) as error:
            raise click.ClickException(_first_line(error)) from None

    return wrapper


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _request(factory, *args, **kwargs):
    """Builds a request object from options; its validation errors are usage
    errors (exit 2), reported before TensorFlow is imported."""
    try:
        return factory(*args, **kwargs)
    except ValueError as error:
        raise click.UsageError(_first_line(error)) from None


class FiniteFloat(click.ParamType):
    """A float that must be finite, and at least `minimum` when one is given."""

    name = "float"

    def __init__(self, minimum: float | None = None):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number.", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not finite.", param, ctx)
        if self.minimum is not None and number < self.minimum:
            self.fail(f"{number:g} is below {self.minimum:g}.", param, ctx)
        return number


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Measure how motion blur hurts an MNIST classifier and undo it with an EGAN."""


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Where a training command reads data and writes its state."""

    data: DataSource
    logdir: str | None
    checkpoint_dir: str
    show_progress: bool

    def training_examples(self):
        return self.data.load("train")

    def test_examples(self):
        return DataSource(self.data.data_dir).load("test")


_TRAINING_OPTION_NAMES = ("epochs", "batch_size", "learning_rate", "beta_1", "seed")
_RUN_OPTION_NAMES = ("limit", "data_dir", "logdir", "checkpoint_dir", "quiet")


def _training_options(defaults):
    """Adds the options every training command shares and hands the command a
    `training` TrainingConfig and a `run` RunOptions instead of loose values.

    Args:
        defaults: The stage's default TrainingConfig.
    """
    options = [
        click.option(
            "--epochs",
            type=click.IntRange(min=1),
            default=defaults.epochs,
            show_default=True,
        ),
        click.option(
            "--batch-size",
            type=click.IntRange(min=1),
            default=defaults.batch_size,
            show_default=True,
        ),
        click.option(
            "--learning-rate",
            type=click.FloatRange(min=0, min_open=True),
            default=defaults.learning_rate,
            show_default=True,
        ),
        click.option(
            "--beta-1",
            type=click.FloatRange(0, 1),
            default=defaults.beta_1,
            show_default=True,
            help="Adam beta_1.",
        ),
        click.option("--seed", type=int, default=defaults.seed, show_default=True),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=None,
            help="Train on the first N examples only (quick runs).",
        ),
        _data_dir_option(),
        click.option(
            "--logdir",
            type=click.Path(file_okay=False),
            default=None,
            help="TensorBoard log folder.",
        ),
        click.option(
            "--checkpoint-dir",
            type=click.Path(file_okay=False),
            required=True,
            help="Resumable checkpoints; rerun the same command to resume.",
        ),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]

    def decorate(command):
        @functools.wraps(command)
        def wrapper(**kwargs):
            from egan_tf.config import TrainingConfig

            training = TrainingConfig(
                **{name: kwargs.pop(name) for name in _TRAINING_OPTION_NAMES}
            )
            run_values = {name: kwargs.pop(name) for name in _RUN_OPTION_NAMES}
            run = RunOptions(
                data=_request(DataSource, run_values["data_dir"], run_values["limit"]),
                logdir=run_values["logdir"],
                checkpoint_dir=run_values["checkpoint_dir"],
                show_progress=not run_values["quiet"],
            )
            for folder in (run.checkpoint_dir, run.logdir, kwargs.get("output")):
                if folder:
                    _request(check_writable, folder, is_folder=True)
            _import_tensorflow_quietly()
            return command(training=training, run=run, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate


def _output_option(what: str):
    return click.option(
        "--output",
        type=click.Path(file_okay=False),
        default=DEFAULT_MODELS_DIR,
        show_default=True,
        help=f"Folder for {what}.",
    )


def _blur_sampling_options(help_text: str):
    """Adds --blur-max-length and --blur-clean-fraction and hands the command
    an `input_blur` BlurSamplingConfig, or None when --blur-max-length is not
    given."""

    def decorate(command):
        @click.option(
            "--blur-max-length",
            type=FiniteFloat(minimum=0.0),
            default=None,
            help=help_text,
        )
        @click.option(
            "--blur-clean-fraction",
            type=click.FloatRange(0.0, 1.0, max_open=True),
            default=0.2,
            show_default=True,
            help="With --blur-max-length: share of training inputs left sharp.",
        )
        @functools.wraps(command)
        def wrapper(blur_max_length, blur_clean_fraction, **kwargs):
            from egan_tf.config import BlurSamplingConfig

            input_blur = None
            if blur_max_length is not None:
                input_blur = BlurSamplingConfig(
                    max_length=blur_max_length, clean_fraction=blur_clean_fraction
                )
            return command(input_blur=input_blur, **kwargs)

        return wrapper

    return decorate


@main.command("train-classifier")
@_training_options(DEFAULT_TRAININGS["classifier"])
@_blur_sampling_options(
    "Beyond the paper: the augment baseline. Blur every training image at random "
    "l in [0, this] and any angle, and write classifier_augment.keras."
)
@_output_option("classifier.keras and classifier.json (or classifier_augment.*)")
@_one_line_errors
def train_classifier_command(training, run, input_blur, output):
    """Train the digit classifier C; resumes from --checkpoint-dir."""
    from egan_tf.config import ClassifierConfig
    from egan_tf.training.classifier import train_and_save_classifier

    card = train_and_save_classifier(
        ClassifierConfig(),
        training,
        run.training_examples(),
        run.test_examples(),
        run.checkpoint_dir,
        output,
        run.logdir,
        show_progress=run.show_progress,
        augmentation=input_blur,
    )
    click.echo(
        f"Classifier test accuracy {card['test_accuracy']:.2%}; written to {output}"
    )


@main.command("train-gan")
@_training_options(DEFAULT_TRAININGS["gan"])
@click.option(
    "--latent-dim", type=click.IntRange(min=1), default=100, show_default=True
)
@_output_option("generator.keras, discriminator.keras and gan.json")
@_one_line_errors
def train_gan_command(training, run, latent_dim, output):
    """Train the GAN (stage 1 of the EGAN); resumes from --checkpoint-dir."""
    from egan_tf.config import EganConfig
    from egan_tf.training.gan import train_and_save_gan

    card = train_and_save_gan(
        EganConfig(latent_dim=latent_dim),
        training,
        run.training_examples(),
        run.checkpoint_dir,
        output,
        run.logdir,
        show_progress=run.show_progress,
    )
    click.echo(
        f"GAN trained for {card['schedule_run']['epochs']} epochs; models written to {output}"
    )


@main.command("train-encoder")
@_training_options(DEFAULT_TRAININGS["encoder"])
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Cross-validation folds.",
)
@click.option(
    "--max-folds",
    type=click.IntRange(min=1),
    default=None,
    help="Train only the first N folds (quick runs).",
)
@click.option(
    "--pixel-weight", type=click.FloatRange(min=0), default=1.0, show_default=True
)
@click.option(
    "--latent-cycle-weight",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
)
@click.option(
    "--classifier-weight",
    type=click.FloatRange(min=0),
    default=0.001,
    show_default=True,
)
@_blur_sampling_options(
    "Beyond the paper: fine-tune the shipped encoder.keras on inputs blurred at "
    "random l in [0, this] and any angle, and write encoder_blur.keras."
)
@_models_option(
    "Folder holding the trained generator.keras and classifier.keras "
    "(and encoder.keras for --blur-max-length)."
)
@_output_option("encoder.keras and encoder.json (or encoder_blur.*)")
@_one_line_errors
def train_encoder_command(
    training,
    run,
    folds,
    max_folds,
    pixel_weight,
    latent_cycle_weight,
    classifier_weight,
    input_blur,
    models_dir,
    output,
):
    """Train the encoder E (stage 2 of the EGAN) by k-fold cross-validation."""
    from egan_tf.config import CrossValidationConfig, EncoderLossConfig
    from egan_tf.training.encoder import train_and_save_encoder

    card = train_and_save_encoder(
        training,
        EncoderLossConfig(
            pixel_weight=pixel_weight,
            latent_cycle_weight=latent_cycle_weight,
            classifier_weight=classifier_weight,
        ),
        CrossValidationConfig(folds=folds, max_folds=max_folds),
        models_dir,
        run.training_examples(),
        run.test_examples(),
        run.checkpoint_dir,
        output,
        run.logdir,
        show_progress=run.show_progress,
        input_blur=input_blur,
    )
    test = card["test"]
    click.echo(
        f"Encoder kept from fold {card['best_fold']}; EGAN test accuracy "
        f"{test['egan_accuracy']:.2%}, reconstruction MSE {test['reconstruction_mse']:.5f}; "
        f"written to {output}"
    )


@main.command("train-blur-estimator")
@_training_options(DEFAULT_TRAININGS["blur_estimator"])
@click.option(
    "--max-length",
    type=FiniteFloat(minimum=0.0),
    default=0.4,
    show_default=True,
    help="Train on blur lengths l uniform in [0, this], at any angle.",
)
@click.option(
    "--clean-fraction",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=0.2,
    show_default=True,
    help="Share of training images left sharp.",
)
@_output_option("blur_estimator.keras and blur_estimator.json")
@_one_line_errors
def train_blur_estimator_command(training, run, max_length, clean_fraction, output):
    """Train the blur estimator B, which reads (l, θ) off a blurred digit."""
    from egan_tf.config import BlurEstimatorConfig, BlurSamplingConfig
    from egan_tf.training.blur_estimator import train_and_save_blur_estimator

    train = run.training_examples()
    card = train_and_save_blur_estimator(
        BlurEstimatorConfig(),
        training,
        BlurSamplingConfig(max_length=max_length, clean_fraction=clean_fraction),
        train,
        run.test_examples(),
        run.checkpoint_dir,
        output,
        run.logdir,
        validation_examples=max(1, len(train) // 12),
        show_progress=run.show_progress,
    )
    test = card["test_random_blur"]
    click.echo(
        f"Blur estimator on blurred test images: length error {test['length_mae']:.4f}, "
        f"angle error {test['angle_mae_degrees']:.1f}° (l ≥ 0.05); written to {output}"
    )


@main.command("reproduce")
@_models_option("Folder the rebuilt models are written to.")
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False),
    default="checkpoints",
    show_default=True,
    help="Checkpoints of every stage; rerun to resume.",
)
@_data_dir_option()
@click.option(
    "--logdir",
    type=click.Path(file_okay=False),
    default=None,
    help="TensorBoard folder; one sub-folder per stage.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_one_line_errors
def reproduce_command(models_dir, work_dir, data_dir, logdir, quiet):
    """Retrain every shipped network: C, the GAN (300 epochs), E (5 x 20), E_blur,
    C_aug and B."""
    for folder in (models_dir, work_dir, logdir):
        if folder:
            _request(check_writable, folder, is_folder=True)
    data_dir = _request(DataSource, data_dir).data_dir
    _import_tensorflow_quietly()
    from egan_tf.training.reproduce import reproduce_all

    cards = reproduce_all(
        models_dir, work_dir, data_dir, logdir, show_progress=not quiet
    )
    click.echo(
        f"Classifier {cards['classifier']['test_accuracy']:.2%}, EGAN "
        f"{cards['encoder']['test']['egan_accuracy']:.2%}; models in {models_dir}"
    )


@main.command("samples")
@_models_option()
@click.option("--count", type=click.IntRange(1, 400), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_png_option("samples.png")
@_one_line_errors
def samples_command(models_dir, count, seed, output):
    """Write a PNG grid of digits drawn from the shipped generator G."""
    _request(check_writable, output)
    _import_tensorflow_quietly()
    from egan_tf.model_io import GENERATOR_FILE, load_model
    from egan_tf.plotting import generator_samples_figure, save_figure

    generator = load_model(os.path.join(models_dir, GENERATOR_FILE))
    save_figure(generator_samples_figure(generator, count, seed), output)
    click.echo(f"Wrote {output}")


class FloatList(click.ParamType):
    """A comma-separated list of finite floats, e.g. "0.01,0.02"."""

    name = "floats"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = [part.strip() for part in str(value).split(",") if part.strip()]
        if not parts:
            self.fail("the list is empty.", param, ctx)
        numbers = []
        for part in parts:
            try:
                number = float(part)
            except ValueError:
                self.fail(f"{part!r} is not a number.", param, ctx)
            if not math.isfinite(number):
                self.fail(f"{part!r} is not finite.", param, ctx)
            numbers.append(number)
        return tuple(numbers)


def _float_list_text(values) -> str:
    return ",".join(f"{value:g}" for value in values)


LIMIT_HELP = (
    "Use only the first N test images. Which images those are depends on the "
    "source: TFDS keeps its own shuffled order (test[0] is a 2), the IDX files "
    "the original order (test[0] is a 7); every JSON records which was read."
)
# evaluate's options that only a grid evaluation reads.
_GRID_ONLY_OPTIONS = {
    "lengths": "--lengths",
    "angles": "--angles",
    "length_scale": "--length-scale",
    "csv_path": "--csv",
    "figures_dir": "--figures",
    "logdir": "--logdir",
}


def _given(name: str) -> bool:
    """Whether the user typed option `name` (rather than getting its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


@main.command("evaluate")
@_models_option()
@_data_dir_option()
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
    default=_float_list_text(PAPER_LENGTHS),
    show_default=True,
    help="With --grid: blur lengths l (fractions of the image side).",
)
@click.option(
    "--angles",
    type=FloatList(),
    default=_float_list_text(PAPER_ANGLES),
    show_default=True,
    help="With --grid: blur angles in degrees.",
)
@click.option(
    "--length-scale",
    type=FiniteFloat(),
    default=1.0,
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
    help="With --grid: write PNG heatmaps and example digits here.",
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
    f"{', '.join(Method)}, or all.",
)
@click.option(
    "--blur",
    "blur_kind",
    type=click.Choice([str(kind) for kind in BlurKind]),
    default=str(BlurKind.FOURIER),
    show_default=True,
    help="With --methods: the Fourier blur model, or an independent spatial line "
    "kernel (the out-of-distribution check).",
)
@click.option(
    "--refine-steps",
    type=click.IntRange(min=0),
    default=None,
    help="With --methods: Adam steps on the latent in egan-refine (and in gated's "
    "restoration) instead of defense.json's. The cost per image grows with them.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_one_line_errors
def evaluate_command(
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
    refine_steps,
    quiet,
):
    """Measure the shipped models on the MNIST test set (--grid: the paper's experiment)."""
    from egan_tf.evaluate_job import (
        EvaluateRequest,
        EvaluationOutputs,
        MethodsSelection,
        run_evaluate,
    )

    if refine_steps is not None and methods is None:
        raise click.UsageError("--refine-steps goes with --methods.")
    if methods is not None and not grid:
        raise click.UsageError("--methods goes with --grid.")
    if _given("blur_kind") and methods is None:
        raise click.UsageError(f"--blur {blur_kind} goes with --methods.")
    if not grid:
        for name, option in _GRID_ONLY_OPTIONS.items():
            if _given(name):
                raise click.UsageError(f"{option} goes with --grid.")
    spec = None
    if grid:
        spec = _request(
            GridSpec, lengths, angles, length_scale, BlurKind(blur_kind), batch_size
        )
    selection = None
    if methods is not None:
        selection = _request(
            MethodsSelection, _request(parse_methods, methods), refine_steps
        )
    request = _request(
        EvaluateRequest,
        models_dir=models_dir,
        data=_request(DataSource, data_dir, limit),
        grid=spec,
        methods=selection,
        outputs=EvaluationOutputs(json_path, csv_path, figures_dir, logdir),
        batch_size=batch_size,
        show_progress=not quiet,
    )
    _import_tensorflow_quietly()
    run_evaluate(request, echo=click.echo)


class BlurLength(FiniteFloat):
    """A blur length l, checked by `egan_tf.grid_spec.check_blur_length`."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        try:
            return check_blur_length(number)
        except ValueError as error:
            self.fail(_first_line(error), param, ctx)


class BlurAngle(FiniteFloat):
    """A blur angle θ, checked by `egan_tf.grid_spec.check_blur_angle`."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        try:
            return check_blur_angle(number)
        except ValueError as error:
            self.fail(_first_line(error), param, ctx)


@main.command("blur")
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
    help="How many test digits to show.",
)
@_png_option("blur.png")
@_data_dir_option()
@_one_line_errors
def blur_command(length, angle, count, output, data_dir):
    """Write a PNG grid of clean test digits above their blurred versions."""
    data = _request(DataSource, data_dir, count)
    _request(check_writable, output)
    _import_tensorflow_quietly()
    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import to_unit_interval
    from egan_tf.plotting import digit_rows_figure, save_figure

    clean = to_unit_interval(data.load("test").images)
    blurred = apply_motion_blur(clean, length, angle)
    figure = digit_rows_figure(
        [clean.numpy(), blurred.numpy()],
        ["clean", f"l={length:g}, θ={angle:g}°"],
        title=f"Motion blur: {length * 28:.2f} px at {angle:g}°",
    )
    save_figure(figure, output)
    click.echo(f"Wrote {output}")


@main.command("export")
@_models_option("Folder of the shipped networks to export.")
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
@_data_dir_option()
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
@_one_line_errors
def export_command(models_dir, output, serving_base_path, data_dir, measure, limit):
    """Export blur, EGAN and classifier as one SavedModel for TF Serving."""
    if not os.path.isabs(serving_base_path):
        raise click.BadParameter(
            f"must be an absolute path. Received: {serving_base_path}",
            param_hint="--serving-base-path",
        )
    data = _request(DataSource, data_dir, limit) if measure else None
    _request(check_writable, output, is_folder=True)
    _import_tensorflow_quietly()
    from egan_tf.export import export_shipped_models
    from egan_tf.reporting import format_export_entry

    test = None if data is None else data.load("test")
    result, entry = export_shipped_models(models_dir, output, serving_base_path, test)
    click.echo(f"Wrote version {result.version} to {result.path}")
    if entry["measured_on_mnist_test"]:
        click.echo(format_export_entry(entry))


class Address(click.ParamType):
    """HOST:PORT of a model server."""

    name = "host:port"

    def convert(self, value, param, ctx):
        from egan_tf.serving import ServerAddress

        try:
            return ServerAddress.parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


_LABELLED_SIGNATURES = ("serving_default", "blur_and_defend", "classify")


@main.command("predict")
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
    type=click.Choice(_LABELLED_SIGNATURES),
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
@_data_dir_option()
@_one_line_errors
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
    data = _request(DataSource, data_dir)
    _import_tensorflow_quietly()
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


if __name__ == "__main__":
    main()
