"""How training examples are ordered and cut: each epoch's order, the number
of batches, and the folds of cross-validation.

Every order depends only on seeds, never on the process, so that a resumed
run sees exactly the batches an uninterrupted one would, and a fold named in
a model card can be cut again later.
"""

from __future__ import annotations

import numpy as np

from egan_tf.data import ImageArrays


def epoch_order(num_examples: int, seed: int, epoch: int) -> np.ndarray:
    """Returns the shuffled example order of one epoch.

    The order depends only on (seed, epoch), so a resumed run sees exactly the
    batches an uninterrupted run would have seen.

    Returns:
        int64 array of shape [num_examples], a permutation of 0..num_examples-1.
    """
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def num_batches(num_examples: int, batch_size: int) -> int:
    """Number of batches of one epoch, the last partial batch included."""
    return -(-num_examples // batch_size)


def kfold_indices(
    num_examples: int, folds: int, fold: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Splits 0..num_examples-1 into training and validation indices for one fold.

    The examples are shuffled once with `seed` and cut into `folds` nearly equal
    parts; fold `fold` is the validation part.

    Returns:
        (train_indices, validation_indices), int64 arrays that partition the range.
    """
    if not 0 <= fold < folds:
        raise ValueError(f"fold must be in [0, {folds}). Received: fold={fold}")
    permutation = np.random.default_rng(seed).permutation(num_examples)
    parts = np.array_split(permutation, folds)
    validation = parts[fold]
    train = np.concatenate([part for index, part in enumerate(parts) if index != fold])
    return train, validation


def kept_fold_split(card: dict, arrays: ImageArrays) -> tuple[ImageArrays, ImageArrays]:
    """The training and validation parts of the fold an encoder card kept.

    Args:
        card: An encoder's model card (`encoder.json`, `encoder_blur.json`).
        arrays: The training split the encoder was trained on.

    Returns:
        (the kept fold's training images, its validation images): the
        validation images are the ones the kept encoder never trained on.
    """
    train_indices, validation_indices = kfold_indices(
        len(arrays),
        card["cross_validation"]["folds"],
        card["best_fold"],
        card["training"]["seed"],
    )
    return arrays.select(train_indices), arrays.select(validation_indices)
