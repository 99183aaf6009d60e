"""Trains the shipped GAN architecture in several processes at once, with one
seed, and prints how far apart their generators end: once with the training
runtime's graph options and once with grappler's arithmetic optimiser turned
back on (README, "More devices, more machines").

    python experiments/process_repeatability.py --processes 3

Each process trains G and D for `--epochs` epochs of batch 32 on the first
`--limit` MNIST training digits and saves G's weights; the processes run side
by side, so that they load the CPU as CI's test workers do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import click
import numpy as np


def _train(folder: str, arithmetic_optimizer: bool, epochs: int, limit: int) -> None:
    """One process's run: G's final weights go to `folder`.npz."""
    import tensorflow as tf

    from egan_tf.config import EganConfig, TrainingConfig
    from egan_tf.data import load_split
    from egan_tf.training import runtime as runtime_module
    from egan_tf.training.gan import train_gan

    runtime_options = runtime_module.stable_graph_optimizations

    def options_of_this_run() -> None:
        runtime_options()
        if arithmetic_optimizer:
            tf.config.optimizer.set_experimental_options(
                {"arithmetic_optimization": True}
            )

    runtime_module.stable_graph_optimizations = options_of_this_run
    result = train_gan(
        EganConfig(),
        TrainingConfig(epochs=epochs, batch_size=32, learning_rate=2e-4, beta_1=0.5),
        load_split("train", limit=limit),
        folder,
        show_progress=False,
    )
    np.savez(f"{folder}.npz", *result.generator.get_weights())


def _worker_command(
    folder: str, arithmetic_optimizer: bool, epochs: int, limit: int
) -> list[str]:
    options = ["--epochs", str(epochs), "--limit", str(limit)]
    worker = ["--worker", folder, str(arithmetic_optimizer)]
    return [sys.executable, __file__, *options, *worker]


@click.command()
@click.option("--processes", type=click.IntRange(min=2), default=3, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--limit", type=click.IntRange(min=32), default=256, show_default=True)
@click.option("--worker", type=(str, bool), default=None, hidden=True)
def main(processes: int, epochs: int, limit: int, worker) -> None:
    if worker is not None:
        _train(worker[0], worker[1], epochs, limit)
        return
    with tempfile.TemporaryDirectory() as work_dir:
        for arithmetic_optimizer in (False, True):
            folders = [
                os.path.join(work_dir, f"{arithmetic_optimizer}_{index}")
                for index in range(processes)
            ]
            running = [
                subprocess.Popen(
                    _worker_command(folder, arithmetic_optimizer, epochs, limit),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for folder in folders
            ]
            # Every process is waited for, the failed ones included.
            exit_codes = [process.wait() for process in running]
            if any(exit_codes):
                raise click.ClickException("a training process failed")
            weights = [np.load(f"{folder}.npz") for folder in folders]
            largest = max(
                float(np.max(np.abs(first - other[name])))
                for other in weights[1:]
                for name, first in weights[0].items()
            )
            label = "on" if arithmetic_optimizer else "off (the runtime's)"
            click.echo(
                f"arithmetic optimiser {label}: largest difference between the "
                f"{processes} processes' generators {largest:.3g}"
            )


if __name__ == "__main__":
    main()
