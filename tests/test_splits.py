"""Tests of the epoch orders, batch counts and cross-validation folds."""

import numpy as np
import pytest

from egan_tf.data import ImageArrays
from egan_tf.splits import epoch_order, kept_fold_split, kfold_indices, num_batches


def test_epoch_order_depends_only_on_seed_and_epoch():
    np.testing.assert_array_equal(epoch_order(100, 3, 7), epoch_order(100, 3, 7))
    assert not np.array_equal(epoch_order(100, 3, 7), epoch_order(100, 3, 8))
    assert sorted(epoch_order(100, 3, 7)) == list(range(100))


def test_num_batches_counts_the_last_partial_batch():
    assert num_batches(10, 4) == 3
    assert num_batches(8, 4) == 2


def test_kfold_partitions_the_examples():
    validations = []
    for fold in range(5):
        train, validation = kfold_indices(103, 5, fold, seed=0)
        assert len(train) + len(validation) == 103
        assert not set(train) & set(validation)
        validations.append(validation)
    assert sorted(np.concatenate(validations).tolist()) == list(range(103))
    with pytest.raises(ValueError, match="Received: fold=5"):
        kfold_indices(103, 5, 5, seed=0)


def test_the_kept_fold_split_is_the_one_the_card_names():
    arrays = ImageArrays(
        np.zeros([103, 28, 28, 1], np.uint8), np.arange(103, dtype=np.int64)
    )
    card = {"cross_validation": {"folds": 5}, "best_fold": 2, "training": {"seed": 7}}
    training, validation = kept_fold_split(card, arrays)
    expected_training, expected_validation = kfold_indices(103, 5, 2, seed=7)
    np.testing.assert_array_equal(training.labels, expected_training)
    np.testing.assert_array_equal(validation.labels, expected_validation)
    assert len(training) + len(validation) == 103
    assert not set(training.labels) & set(validation.labels)
