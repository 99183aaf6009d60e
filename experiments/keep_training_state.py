"""Copies an unfinished `reproduce` stage folder into `training_state/`, newest
checkpoint only, so that the run survives the machine it ran on.

Every file that is not a checkpoint (config.json, history.json, finished
folds' .keras files and records) is copied; of each checkpoint folder only
the newest checkpoint, with a `checkpoint` index naming it alone, and none of
a finished fold's (`fold_1/` beside `fold_1.keras`): the fold is not trained
again. Run it
after stopping the training (SIGTERM saves a checkpoint first).

    python experiments/keep_training_state.py /work/runs/fashion/work/gan \\
        training_state/fashion_mnist/gan
"""

from __future__ import annotations

import os
import shutil

import click

from egan_tf.folder_lock import LOCK_FILE


def _newest_checkpoint(folder: str) -> str | None:
    import tensorflow as tf

    state = tf.train.get_checkpoint_state(folder)
    return state.model_checkpoint_path if state else None


@click.command()
@click.argument("stage_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("destination", type=click.Path(file_okay=False))
def main(stage_dir, destination):
    staging = destination.rstrip("/") + ".tmp"
    shutil.rmtree(staging, ignore_errors=True)
    copied = 0
    for root, _, files in os.walk(stage_dir):
        target = os.path.join(staging, os.path.relpath(root, stage_dir))
        os.makedirs(target, exist_ok=True)
        finished = os.path.isfile(root.rstrip("/") + ".keras")
        has_checkpoints = "checkpoint" in files and not finished
        newest = _newest_checkpoint(root) if has_checkpoints else None
        keep = None
        if newest is not None:
            keep = os.path.basename(newest)
            with open(os.path.join(target, "checkpoint"), "w", encoding="utf-8") as f:
                f.write(
                    f'model_checkpoint_path: "{keep}"\n'
                    f'all_model_checkpoint_paths: "{keep}"\n'
                )
        for name in files:
            is_checkpoint = name == "checkpoint" or name.startswith("ckpt-")
            if is_checkpoint and not (keep and name.startswith(keep + ".")):
                # A finished fold's checkpoints, or all but the newest.
                continue
            if name.endswith(LOCK_FILE):
                # The running processes' locks and fold claims, not the run's.
                continue
            shutil.copy2(os.path.join(root, name), os.path.join(target, name))
            copied += os.path.getsize(os.path.join(target, name))
    # Replace the previous copy only once the new one is whole.
    shutil.rmtree(destination, ignore_errors=True)
    os.replace(staging, destination)
    click.echo(f"Kept {stage_dir} in {destination} ({copied / 1e6:.1f} MB).")


if __name__ == "__main__":
    main()
