"""One process of a distributed test run: trains a tiny classifier under the
strategy named on the command line, writes its final weights, then ships
the model as `train-classifier` does.

    python train_worker.py STRATEGY CHECKPOINT_DIR OUTPUT_DIR LOGDIR WEIGHTS.npz [STOP_AT]

`multiworker` reads TF_CONFIG as any worker would. Every process of a run
gets the same folders: only the chief may write into them. With STOP_AT, the
run is interrupted (as by Ctrl-C) at its STOP_AT-th step, saves its
checkpoint and exits; a run in a folder that holds checkpoints resumes from
the last.
"""

import sys

import numpy as np
from helpers import interrupting

from egan_tf.config import ClassifierConfig, TrainingConfig
from egan_tf.data import load_split
from egan_tf.errors import TrainingInterrupted
from egan_tf.execution import ExecutionConfig
from egan_tf.training import loop
from egan_tf.training.classifier import train_and_save_classifier, train_classifier
from egan_tf.training.runtime import Runtime

TINY = ClassifierConfig(filters=(4,), dense_units=8, dropout_rate=0.0)
TRAINING = TrainingConfig(epochs=2, batch_size=32, seed=4)


def main(strategy, checkpoint_dir, output_dir, logdir, weights_path, stop_at=None):
    if stop_at is not None:
        loop.compile_train_step = interrupting(
            loop.compile_train_step, at_call=int(stop_at)
        )
    # The strategy first: a multi-worker strategy must exist before any op.
    with Runtime.create(ExecutionConfig(strategy=strategy)) as runtime:
        test = load_split("test")
        train = test.take(96)
        try:
            result = train_classifier(
                TINY, TRAINING, train, checkpoint_dir, logdir,
                show_progress=False, runtime=runtime,
            )  # fmt: skip
        except TrainingInterrupted:
            # Every worker stops at the same step and has saved its checkpoint.
            return
        np.savez(
            weights_path,
            *result.classifier.get_weights(),
            loss=result.history[-1]["epoch_loss"],
            replicas=runtime.num_replicas,
            chief=runtime.is_chief,
        )
        # The run is finished: this restores it and ships the model.
        train_and_save_classifier(
            TINY, TRAINING, train, test.take(32), checkpoint_dir, output_dir,
            show_progress=False, runtime=runtime,
        )  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:])
