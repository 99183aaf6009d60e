"""What every command shares: option types, option blocks, the one-line
error policy, and building requests before TensorFlow is imported."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click
from click.core import ParameterSource

from egan_tf import defaults
from egan_tf.atomic_files import check_writable
from egan_tf.commands.data_options import data_dir_option, dataset_option
from egan_tf.config import BlurSamplingConfig
from egan_tf.data_paths import DataSource
from egan_tf.datasets import DEFAULT_DATASET
from egan_tf.errors import first_line
from egan_tf.execution import ExecutionConfig
from egan_tf.grid_spec import check_blur_angle, check_blur_length


def import_tensorflow_quietly() -> None:
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


DEFAULT_TRAININGS = {
    "blur_estimator": defaults.DEFAULT_BLUR_ESTIMATOR_TRAINING,
    "classifier": defaults.DEFAULT_CLASSIFIER_TRAINING,
    "gan": defaults.PAPER_GAN_TRAINING,
    "encoder": defaults.PAPER_ENCODER_TRAINING,
}


def png_option(default: str):
    return click.option(
        "--output",
        type=click.Path(dir_okay=False),
        default=default,
        show_default=True,
        help="PNG file to write.",
    )


def classifier_option():
    """`--classifier PATH.keras`: a user's classifier in place of the shipped C."""
    return click.option(
        "--classifier",
        "classifier_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Defend your own classifier instead of the shipped C: a .keras file "
        "taking [batch, 28, 28, 1] in [0, 1] and giving 10 logits or 10 "
        "probabilities (loaded in Keras' safe mode). Methods that need a "
        "blur-trained copy of C are then not applicable.",
    )


def image_reading_options(command):
    """`--resize` and `--invert`: how a user's images are read
    (`egan_tf.image_reading.ImageReading`)."""
    command = click.option(
        "--invert",
        is_flag=True,
        help="Your images are dark on light (ink on paper): invert them to "
        "light on dark, as the data set's are.",
    )(command)
    return click.option(
        "--resize",
        is_flag=True,
        help="Fit images of another size than 28x28: pad to a square with the "
        "background, then average down to 28x28. A blur shrinks with the image.",
    )(command)


def one_line_errors(command):
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
            raise click.ClickException(first_line(error)) from None

    return wrapper


def build_request(factory, *args, **kwargs):
    """Builds a request object from options; its validation errors are usage
    errors (exit 2), reported before TensorFlow is imported."""
    try:
        return factory(*args, **kwargs)
    except ValueError as error:
        raise click.UsageError(first_line(error)) from None


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


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Where a training command reads data and writes its state, and how it
    executes."""

    data: DataSource
    logdir: str | None
    checkpoint_dir: str
    show_progress: bool
    execution: ExecutionConfig = dataclasses.field(default_factory=ExecutionConfig)

    def runtime(self):
        """The run's `Runtime` (builds the strategy: TensorFlow starts)."""
        from egan_tf.training.runtime import Runtime

        return Runtime.create(self.execution)

    def training_examples(self):
        return self.data.load("train")

    def test_examples(self):
        """The whole test split: `--limit` cuts the training data only."""
        return dataclasses.replace(self.data, limit=None).load("test")


TRAINING_OPTION_NAMES = ("epochs", "batch_size", "learning_rate", "beta_1", "seed")
_RUN_OPTION_NAMES = (
    "dataset", "limit", "data_dir", "logdir", "checkpoint_dir", "quiet",
)  # fmt: skip


def training_options(
    defaults,
    epochs_of: Callable[[str], int] | None = None,
    learning_rate_shown: str | None = None,
):
    """Adds the options every training command shares and hands the command a
    `training` TrainingConfig and a `run` RunOptions instead of loose values.

    Args:
        defaults: The stage's default TrainingConfig.
        epochs_of: The default number of epochs by data set, when it
            depends on the data set; None for `defaults.epochs` on all.
        learning_rate_shown: The help's default for `--learning-rate`, when
            the command chooses it by more than `defaults` (see
            `given_options`); None shows `defaults.learning_rate`.
    """

    def default_epochs(ctx, param, value):
        if value is not None or epochs_of is None:
            return value
        return epochs_of(ctx.params.get("dataset", DEFAULT_DATASET))

    options = [
        click.option(
            "--epochs",
            type=click.IntRange(min=1),
            default=None if epochs_of else defaults.epochs,
            callback=default_epochs,
            show_default="by data set" if epochs_of else True,
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
            show_default=learning_rate_shown or True,
        ),
        click.option(
            "--beta-1",
            type=click.FloatRange(0, 1),
            default=defaults.beta_1,
            show_default=True,
            help="Adam beta_1.",
        ),
        click.option("--seed", type=int, default=defaults.seed, show_default=True),
        dataset_option(),
        click.option(
            "--limit",
            type=click.IntRange(min=1),
            default=None,
            help="Train on the first N examples only (quick runs).",
        ),
        data_dir_option(),
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
                **{name: kwargs.pop(name) for name in TRAINING_OPTION_NAMES}
            )
            run_values = {name: kwargs.pop(name) for name in _RUN_OPTION_NAMES}
            run = RunOptions(
                data=build_request(
                    DataSource,
                    run_values["data_dir"],
                    run_values["limit"],
                    run_values["dataset"],
                ),
                logdir=run_values["logdir"],
                checkpoint_dir=run_values["checkpoint_dir"],
                show_progress=not run_values["quiet"],
                execution=kwargs.pop("execution"),
            )
            for folder in (run.checkpoint_dir, run.logdir, kwargs.get("output")):
                if folder:
                    build_request(check_writable, folder, is_folder=True)
            import_tensorflow_quietly()
            return command(training=training, run=run, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        # Imported here: that module builds its requests with this one's
        # build_request.
        from egan_tf.commands.execution_options import execution_options

        return execution_options(wrapper)

    return decorate


def blur_sampling_options(help_text: str):
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
            default=BlurSamplingConfig.clean_fraction,
            show_default=True,
            help="With --blur-max-length: share of training inputs left sharp.",
        )
        @functools.wraps(command)
        def wrapper(blur_max_length, blur_clean_fraction, **kwargs):
            input_blur = None
            if blur_max_length is None and given_options(["blur_clean_fraction"]):
                # Training without blur would quietly ignore the fraction.
                raise click.UsageError(
                    "--blur-clean-fraction goes with --blur-max-length."
                )
            if blur_max_length is not None:
                input_blur = BlurSamplingConfig(
                    max_length=blur_max_length, clean_fraction=blur_clean_fraction
                )
            return command(input_blur=input_blur, **kwargs)

        return wrapper

    return decorate


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


def float_list_text(values) -> str:
    return ",".join(f"{value:g}" for value in values)


LIMIT_HELP = (
    "Use only the first N test images. Which images those are depends on the "
    "source: TFDS keeps its own shuffled order (test[0] is a 2), the IDX files "
    "the original order (test[0] is a 7); every JSON records which was read."
)


def given(name: str) -> bool:
    """Whether the user typed option `name` (rather than getting its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source != ParameterSource.DEFAULT


def given_options(names: Sequence[str]) -> dict[str, Any]:
    """The options among `names` that the user set (`given`), by name, with
    their values; a stage puts its own default in place of the others."""
    values = click.get_current_context().params
    return {name: values[name] for name in names if given(name)}


class CheckedFloat(FiniteFloat):
    """A finite float checked by a library function, so that the command line
    and the library refuse the same values with the same message.

    Args:
        check: Returns the value, or raises ValueError saying what is wrong.
    """

    def __init__(self, check):
        super().__init__()
        self.check = check

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        try:
            return self.check(number)
        except ValueError as error:
            self.fail(first_line(error), param, ctx)


def BlurLength() -> CheckedFloat:
    """A blur length l, checked by `egan_tf.grid_spec.check_blur_length`."""
    return CheckedFloat(check_blur_length)


def BlurAngle() -> CheckedFloat:
    """A blur angle θ, checked by `egan_tf.grid_spec.check_blur_angle`."""
    return CheckedFloat(check_blur_angle)


class Address(click.ParamType):
    """HOST:PORT of a model server."""

    name = "host:port"

    def convert(self, value, param, ctx):
        from egan_tf.serving import ServerAddress

        try:
            return ServerAddress.parse(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


# The signatures whose outputs include a label, which `predict` prints.
LABELLED_SIGNATURES = (
    "serving_default",
    "blur_and_defend",
    "classify",
    "defend_adaptive",
    "defend_gated",
)
