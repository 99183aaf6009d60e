"""Tests of the pure loss functions."""

import numpy as np
import pytest
import tensorflow as tf

from egan_tf import losses


def _softmax(logits, temperature):
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=-1, keepdims=True)
    return np.exp(scaled) / np.exp(scaled).sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_classifier_consistency_is_the_softened_kl_divergence_times_t_squared(
    temperature,
):
    rng = np.random.default_rng(0)
    reference, logits = rng.normal(0, 3, (2, 5, 10)).astype(np.float32)
    p, q = _softmax(reference, temperature), _softmax(logits, temperature)
    expected = temperature**2 * np.sum(p * (np.log(p) - np.log(q)), axis=-1)
    measured = losses.classifier_consistency_loss(
        tf.constant(reference), tf.constant(logits), temperature
    )
    assert measured.shape == (5,)
    np.testing.assert_allclose(measured.numpy(), expected, rtol=1e-4, atol=1e-6)
    same = losses.classifier_consistency_loss(
        tf.constant(reference), tf.constant(reference), temperature
    )
    np.testing.assert_allclose(same.numpy(), 0.0, atol=1e-5)


def test_classifier_consistency_keeps_its_scale_at_high_temperature():
    # T² · KL_T tends to half the variance of the logits' difference over the
    # classes, so one weight serves every temperature instead of the term
    # vanishing as 1/T².
    rng = np.random.default_rng(1)
    reference, logits = rng.normal(0, 1, (2, 3, 10)).astype(np.float32)
    difference = logits - reference
    limit = 0.5 * np.var(difference, axis=-1)
    measured = losses.classifier_consistency_loss(
        tf.constant(reference), tf.constant(logits), 100.0
    )
    np.testing.assert_allclose(measured.numpy(), limit, rtol=2e-2)


def test_a_temperature_counts_how_a_sure_classifier_ranks_the_wrong_classes():
    # C is sure of class 0 both times; only the two wrong classes swap.
    reference = tf.constant([[12.0, 4.0, 0.0]])
    swapped = tf.constant([[12.0, 0.0, 4.0]])
    plain = float(losses.classifier_consistency_loss(reference, swapped, 1.0)[0])
    softened = float(losses.classifier_consistency_loss(reference, swapped, 4.0)[0])
    assert plain < 3e-3
    assert softened > 100 * plain
