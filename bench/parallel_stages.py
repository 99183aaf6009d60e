"""Benchmark: two training stages one after the other on every core, or side
by side in two processes of one intra-op thread each.

`reproduce` lets stages that need no other's network run in another process
at the same time. Whether that pays depends on how well one stage's step
uses both cores of this machine. This runs the train steps of two stages at
the shipped sizes (random weights, one fixed batch of 128, so only the steps
are timed, not the data feed nor the per-epoch validation) in fresh
processes:

- each stage alone, with the machine's default intra-op threads;
- each stage alone with one thread (one intra-op and one inter-op thread),
  for reference;
- both at once, one thread each, started together;
- both at once with one intra-op thread each but TensorFlow's default
  inter-op pool (one thread per core), as the stages trained until session
  18: each process then runs two compute threads.

It prints steps per second of each, and for each side-by-side way the pair's
work as a multiple of running the stages one after the other alone: the sum
over the two stages of (rate side by side / rate alone). Above 1, side by side finishes sooner.
Medians over `--rounds`; the fp32 and bf16 matmul rates measured before and
after, in this process, with no worker running.

    python bench/parallel_stages.py --rounds 3 --seconds 30

A worker is this script with `--worker STAGE`: it builds and warms up its
step, prints "ready", waits for a line on standard input, runs steps for
`--seconds` and prints its rate as JSON.
"""

from __future__ import annotations

import enum
import json
import os
import statistics
import subprocess
import sys
import time

import click
from common import echo_rates

BATCH = 128
WARM_UP_STEPS = 3


class Stage(enum.Enum):
    """The stages compared: the encoder E (G and C frozen, C's consistency
    term on) and the blur-augmented classifier C_aug."""

    ENCODER = "encoder"
    CLASSIFIER_AUGMENT = "classifier_augment"


def _encoder_step(runtime):
    import keras

    from egan_tf.config import ClassifierConfig, EganConfig
    from egan_tf.defaults import encoder_loss
    from egan_tf.networks import build_classifier, build_encoder, build_generator
    from egan_tf.training.encoder_step import make_encoder_train_step

    generator = runtime.build(lambda: build_generator(EganConfig()))
    classifier = runtime.build(lambda: build_classifier(ClassifierConfig()))
    encoder = runtime.build(lambda: build_encoder(EganConfig()))
    generator.trainable = False
    classifier.trainable = False
    optimizer = runtime.build_optimizer(
        lambda: keras.optimizers.Adam(1e-3), encoder.trainable_variables
    )
    return make_encoder_train_step(
        encoder,
        generator,
        classifier,
        optimizer,
        encoder_loss("fashion_mnist"),
    )


def _classifier_augment_step(runtime):
    import keras

    from egan_tf.config import BlurSamplingConfig, ClassifierConfig
    from egan_tf.networks import build_classifier
    from egan_tf.training.classifier import make_classifier_train_step

    classifier = runtime.build(lambda: build_classifier(ClassifierConfig()))
    optimizer = runtime.build_optimizer(
        lambda: keras.optimizers.Adam(1e-3), classifier.trainable_variables
    )
    return make_classifier_train_step(classifier, optimizer, BlurSamplingConfig())


def run_worker(stage: Stage, seconds: float) -> None:
    import keras
    import tensorflow as tf

    from egan_tf.training.runtime import Runtime

    keras.utils.set_random_seed(0)
    runtime = Runtime.create()
    factory = {
        Stage.ENCODER: _encoder_step,
        Stage.CLASSIFIER_AUGMENT: _classifier_augment_step,
    }[stage]
    step = runtime.compile_step(factory(runtime))
    images = tf.random.stateless_uniform([BATCH, 28, 28, 1], seed=[0, 1])
    labels = tf.random.stateless_uniform(
        [BATCH], seed=[0, 2], maxval=10, dtype=tf.int64
    )
    size = tf.constant(BATCH, tf.int64)

    def call(index):
        metrics = step(images, labels, tf.constant([0, index], tf.int64), size)
        float(metrics["loss"])

    for index in range(WARM_UP_STEPS):
        call(index)
    print("ready", flush=True)
    sys.stdin.readline()
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        call(WARM_UP_STEPS + steps)
        steps += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"stage": stage.value, "steps_per_second": steps / elapsed}))


class Threads(enum.Enum):
    """A worker's thread pools. TensorFlow runs an op's work on its intra-op
    pool and independent ops at once on its inter-op pool, each one thread
    per core by default."""

    DEFAULT = "default"
    ONE = "one thread"
    ONE_INTRA_OP = "one intra-op thread"

    def environment(self) -> dict[str, str]:
        """The variables that set the pools, read when TensorFlow starts."""
        return {
            Threads.DEFAULT: {},
            Threads.ONE: {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"},
            Threads.ONE_INTRA_OP: {"TF_NUM_INTRAOP_THREADS": "1"},
        }[self]


def _start(stage: Stage, seconds: float, threads: Threads) -> subprocess.Popen:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    }
    env.update(threads.environment())
    worker = subprocess.Popen(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            stage.value,
            "--seconds",
            str(seconds),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    # Warm-ups differ in length: no worker starts timing before all are ready.
    line = worker.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"A {stage.value} worker did not start: {line!r}")
    return worker


def _measure(stages: tuple[Stage, ...], seconds: float, threads: Threads):
    """Steps per second of each of `stages`, run at the same time."""
    workers = [_start(stage, seconds, threads) for stage in stages]
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    rates = []
    for worker in workers:
        output, _ = worker.communicate(timeout=seconds + 600)
        rates.append(json.loads(output.strip().splitlines()[-1])["steps_per_second"])
    return rates


@click.command()
@click.option(
    "--worker", type=click.Choice([stage.value for stage in Stage]), default=None
)
@click.option("--seconds", type=click.FloatRange(min=1), default=30, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=3, show_default=True)
def main(worker, seconds, rounds):
    if worker is not None:
        run_worker(Stage(worker), seconds)
        return
    echo_rates("before")
    pair = (Stage.ENCODER, Stage.CLASSIFIER_AUGMENT)
    alone = {
        "alone, default threads": Threads.DEFAULT,
        "alone, one thread": Threads.ONE,
    }
    side_by_side = {
        "side by side, one thread": Threads.ONE,
        "side by side, 1 intra-op": Threads.ONE_INTRA_OP,
    }
    samples = {(way, stage): [] for way in [*alone, *side_by_side] for stage in pair}
    for _ in range(rounds):
        for way, threads in alone.items():
            for stage in pair:
                samples[way, stage].append(_measure((stage,), seconds, threads)[0])
        for way, threads in side_by_side.items():
            for stage, rate in zip(pair, _measure(pair, seconds, threads), strict=True):
                samples[way, stage].append(rate)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    click.echo(f"steps per second, batch {BATCH}, median of {rounds} x {seconds:g} s:")
    for (way, stage), rate in medians.items():
        click.echo(f"  {stage.value:<19} {way:<26} {rate:6.3f}")
    for way in side_by_side:
        work = sum(
            medians[way, stage] / medians["alone, default threads", stage]
            for stage in pair
        )
        click.echo(
            f"{way}: the pair does {work:.2f}x the work of the two stages run "
            "one after the other alone"
        )
    echo_rates("after")


if __name__ == "__main__":
    main()
