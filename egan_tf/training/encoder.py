"""Stage 2 of the EGAN: the encoder E, trained with G frozen so that G(E(x)) ≈ x.

The paper trains E with 5-fold cross-validation, 20 epochs a fold, validating
at the end of every epoch, and keeps the encoder with the lowest
reconstruction error. Here "best" means the fold whose final-epoch encoder has
the lowest mean squared pixel error between x and G(E(x)) on its own
validation fold. This module runs the folds (shared between processes by
`fold_claims.py`), keeps the best and settles it; one fold's loop is in
`encoder_fold.py`, the step in `encoder_step.py`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time

import keras

from egan_tf.atomic_files import write_json_atomically
from egan_tf.data import ImageArrays
from egan_tf.model_io import load_model, save_model_atomically
from egan_tf.training.encoder_fold import EncoderRun, place_frozen, train_fold
from egan_tf.training.fold_claims import add_fold_record, claim_fold
from egan_tf.training.loop import record_run_configs
from egan_tf.training.runtime import Runtime
from egan_tf.training.stages import (
    FOLD_METRICS_FILE,
    fold_encoder_path,
    read_fold_records,
)

# Settling's record and its encoder, in the run's checkpoint folder.
SETTLING_RECORD_FILE = "settling.json"
SETTLED_ENCODER_FILE = "settled.keras"
# How often a run waiting for another process's folds looks again, seconds.
_WAIT_SECONDS = 5

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EncoderResult:
    """What an encoder cross-validation run produced.

    Attributes:
        encoder: The kept encoder (lowest final validation MSE over folds).
        best_fold: Index of that fold.
        folds: One record per trained fold: its final validation MSE and
            accuracy, its per-epoch history and its wall time.
        wall_seconds: Wall time of all folds and of settling, summed over
            resumptions.
        settling: The settling's record (its per-epoch history and final
            validation), or None when the run does not settle.
    """

    encoder: keras.Model
    best_fold: int
    folds: list[dict]
    wall_seconds: float
    settling: dict | None = None


def train_encoder_folds(
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    initial_encoder: keras.Model | None = None,
    runtime: Runtime | None = None,
    wait_for_others: bool = True,
) -> tuple[dict[str, dict], dict[int, str]]:
    """Trains the folds of `run` that are neither finished nor being trained
    by another process; resumable, and shareable between processes.

    Each finished fold leaves `fold_K.keras` and its record in
    `fold_metrics.json` under `checkpoint_dir`; a rerun skips finished folds
    and resumes an unfinished one from its checkpoint. Folds are independent,
    so a second process running this on the same folder trains other folds
    at the same time: each process claims a fold (a lock in `checkpoint_dir`
    that the kernel drops when its process ends) before training it.

    Args:
        run: The configs of the run.
        generator: The trained G; frozen.
        classifier: The trained C, frozen; needed for the classifier term and
            for the validation accuracy.
        train_arrays: The examples to split into folds.
        checkpoint_dir: Checkpoints, fold encoders and fold records.
        logdir: TensorBoard folder; one sub-folder per fold.
        show_progress: Whether to draw progress bars.
        initial_encoder: Start every fold from this encoder's weights
            (fine-tuning) instead of a fresh initialisation.
        runtime: Strategy, precision and XLA; one device in float32 if None.
            Under a multi-worker strategy only the chief writes; the others
            read the chief's records to resume.
        wait_for_others: When the folds left are all being trained by other
            processes, wait for them (and train any whose process ends
            without finishing it); if False, return.

    Returns:
        The record of every finished fold, keyed by the fold's index as a
        string, and where this process wrote each fold encoder it trained.

    Raises:
        ValueError: If the latent sizes of `model_config` and G differ.
    """
    if generator.input_shape[-1] != run.model.latent_dim:
        raise ValueError(
            "The generator's latent size differs from the config. Received: "
            f"latent_dim={run.model.latent_dim}, generator input "
            f"{generator.input_shape[-1]}"
        )
    runtime = runtime or Runtime.create()
    record_run_configs(checkpoint_dir, logdir, run.configs, runtime, train_arrays)
    generator, classifier = place_frozen(runtime, generator, classifier)
    cv_config = run.cross_validation
    folds = range(cv_config.trained_folds)
    # Where this process wrote each fold's encoder (a temporary folder on a
    # worker other than the chief), and the records it wrote.
    written, own_records = {}, {}
    records_path = runtime.writable(os.path.join(checkpoint_dir, FOLD_METRICS_FILE))
    waiting_for = None
    while True:
        records = {**read_fold_records(checkpoint_dir), **own_records}
        left = [
            fold
            for fold in folds
            if str(fold) not in records
            or not (
                fold in written
                or os.path.isfile(fold_encoder_path(checkpoint_dir, fold))
            )
        ]
        if not left:
            return records, written
        claimed = claim_fold(left, checkpoint_dir, runtime)
        if claimed is None:
            if not wait_for_others:
                return records, written
            if waiting_for != left:
                waiting_for = left
                # A warning, so that it shows without any logging set up:
                # the process looks idle while it waits.
                logger.warning(
                    "Waiting for fold(s) %s, trained by another process.",
                    ", ".join(map(str, left)),
                )
            time.sleep(_WAIT_SECONDS)
            continue
        fold, claim = claimed
        if claim is not None and str(fold) in read_fold_records(checkpoint_dir):
            # Another process finished the fold between the look and the claim.
            claim.release()
            continue
        try:
            encoder, record = train_fold(
                fold,
                run,
                generator,
                classifier,
                train_arrays,
                checkpoint_dir,
                logdir,
                show_progress,
                runtime,
                initial_encoder,
            )
            written[fold] = runtime.writable(fold_encoder_path(checkpoint_dir, fold))
            save_model_atomically(encoder, written[fold])
            add_fold_record(records_path, record)
            own_records[str(fold)] = record
        finally:
            if claim is not None:
                claim.release()


def train_encoder(
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None = None,
    show_progress: bool = True,
    initial_encoder: keras.Model | None = None,
    runtime: Runtime | None = None,
) -> EncoderResult:
    """Trains E by k-fold cross-validation with G (and C) frozen, keeps the
    best fold's encoder and, when `run.settling` is set, settles it;
    resumable.

    The folds are trained by `train_encoder_folds` (see there for the
    arguments); folds another process trains on the same `checkpoint_dir`
    are waited for. Settling runs in this process once every fold is done.

    Raises:
        ValueError: If the latent sizes of `model_config` and G differ.
    """
    runtime = runtime or Runtime.create()
    fold_records, written = train_encoder_folds(
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        initial_encoder,
        runtime,
    )
    folds = [fold_records[key] for key in sorted(fold_records, key=int)]
    best = min(folds, key=lambda record: record["val_mse"])
    encoder = load_model(
        written.get(
            best["fold"],
            fold_encoder_path(checkpoint_dir, best["fold"]),
        )
    )
    wall_seconds = sum(record["wall_seconds"] for record in folds)
    settling = None
    if run.settling is not None:
        encoder, settling = settle_encoder(
            encoder,
            best["fold"],
            run,
            generator,
            classifier,
            train_arrays,
            checkpoint_dir,
            logdir,
            show_progress,
            runtime,
        )
        wall_seconds += settling["wall_seconds"]
    return EncoderResult(
        encoder=encoder,
        best_fold=best["fold"],
        folds=folds,
        wall_seconds=wall_seconds,
        settling=settling,
    )


def settle_encoder(
    encoder: keras.Model,
    fold: int,
    run: EncoderRun,
    generator: keras.Model,
    classifier: keras.Model | None,
    train_arrays: ImageArrays,
    checkpoint_dir: str,
    logdir: str | None,
    show_progress: bool,
    runtime: Runtime,
) -> tuple[keras.Model, dict]:
    """Settles the kept fold's `encoder` on its fold `fold` of `run`
    (`run.settling`), or reads back a settling a previous run in
    `checkpoint_dir` finished; resumable.

    Returns:
        The settled encoder and the settling's record: the fold, its split's
        sizes, the per-epoch validation history, the final validation MSE and
        accuracy, and the wall time.
    """
    encoder_path = os.path.join(checkpoint_dir, SETTLED_ENCODER_FILE)
    record_path = os.path.join(checkpoint_dir, SETTLING_RECORD_FILE)
    # The record is written last, so its presence means the encoder is whole.
    if os.path.isfile(record_path) and os.path.isfile(encoder_path):
        with open(record_path, encoding="utf-8") as handle:
            return load_model(encoder_path), json.load(handle)
    generator, classifier = place_frozen(runtime, generator, classifier)
    settled, record = train_fold(
        fold,
        run,
        generator,
        classifier,
        train_arrays,
        checkpoint_dir,
        logdir,
        show_progress,
        runtime,
        initial_encoder=encoder,
        settling=True,
    )
    save_model_atomically(settled, runtime.writable(encoder_path))
    write_json_atomically(runtime.writable(record_path), record)
    return settled, record
