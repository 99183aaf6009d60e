"""The options that say how a command executes: --strategy, --precision and
--jit, checked into one `ExecutionConfig` before TensorFlow starts."""

from __future__ import annotations

import functools
import os

import click

from egan_tf.commands.options import build_request
from egan_tf.execution import (
    TF_CONFIG,
    ExecutionConfig,
    Precision,
    StrategyKind,
    check_tf_config,
)


def precision_option():
    return click.option(
        "--precision",
        type=click.Choice([str(precision) for precision in Precision]),
        default=str(Precision.FLOAT32),
        show_default=True,
        help="How the networks compute: float32, or bfloat16 with float32 "
        "variables (mixed_bfloat16; the blur and FFTs stay float32).",
    )


_EXECUTION_OPTION_NAMES = ("strategy", "precision", "jit")


def execution_options(command):
    """Adds --strategy, --precision and --jit, handing the command one
    checked `execution` ExecutionConfig instead."""

    @functools.wraps(command)
    def wrapper(**kwargs):
        values = {name: kwargs.pop(name) for name in _EXECUTION_OPTION_NAMES}
        execution = build_request(ExecutionConfig, **values)
        if execution.strategy == StrategyKind.MULTIWORKER:
            build_request(check_tf_config, os.environ.get(TF_CONFIG))
        return command(execution=execution, **kwargs)

    options = (
        click.option(
            "--strategy",
            type=click.Choice([str(kind) for kind in StrategyKind]),
            default=str(StrategyKind.DEFAULT),
            show_default=True,
            help="tf.distribute strategy: default (one device), mirrored (every "
            "local GPU, or logical CPU device), multiworker (the machines of "
            "TF_CONFIG).",
        ),
        precision_option(),
        click.option(
            "--jit",
            is_flag=True,
            help="Compile the train step with XLA (measured slower on CPUs "
            "here; see bench/).",
        ),
    )
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
