"""One process of a distributed test run: trains a tiny classifier under the
strategy named on the command line, writes its final weights, then ships
the model as `train-classifier` does.

    python train_worker.py STRATEGY CHECKPOINT_DIR OUTPUT_DIR LOGDIR WEIGHTS.npz

`multiworker` reads TF_CONFIG as any worker would. Every process of a run
gets the same folders: only the chief may write into them.
"""

import sys

import numpy as np

from egan_tf.config import ClassifierConfig, TrainingConfig
from egan_tf.data import load_split
from egan_tf.execution import ExecutionConfig
from egan_tf.training.classifier import train_and_save_classifier, train_classifier
from egan_tf.training.runtime import Runtime

TINY = ClassifierConfig(filters=(4,), dense_units=8, dropout_rate=0.0)
TRAINING = TrainingConfig(epochs=2, batch_size=32, seed=4)


def main(strategy, checkpoint_dir, output_dir, logdir, weights_path):
    # The strategy first: a multi-worker strategy must exist before any op.
    with Runtime.create(ExecutionConfig(strategy=strategy)) as runtime:
        test = load_split("test")
        train = test.take(96)
        result = train_classifier(
            TINY, TRAINING, train, checkpoint_dir, logdir, show_progress=False,
            runtime=runtime,
        )  # fmt: skip
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
