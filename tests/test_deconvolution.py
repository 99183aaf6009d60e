"""Tests of the Wiener deconvolution."""

import numpy as np
import pytest

from egan_tf.blur import apply_motion_blur
from egan_tf.deconvolution import wiener_deconvolve


@pytest.mark.parametrize(("length", "angle"), [(0.1, 0.0), (0.3, 45.0)])
def test_the_true_blur_is_mostly_undone(mnist_test, length, angle):
    images = mnist_test.images[:50].astype(np.float32) / 255.0
    blurred = apply_motion_blur(images, length, angle)
    restored = wiener_deconvolve(
        blurred,
        np.full([50], length, np.float32),
        np.full([50], angle, np.float32),
        1e-3,
    ).numpy()
    assert restored.shape == images.shape
    assert restored.min() >= 0.0
    assert restored.max() <= 1.0
    blurred_error = np.mean((blurred.numpy() - images) ** 2)
    assert np.mean((restored - images) ** 2) < 0.25 * blurred_error


def test_the_wrong_direction_does_not_undo_it(mnist_test):
    images = mnist_test.images[:50].astype(np.float32) / 255.0
    blurred = apply_motion_blur(images, 0.3, 0.0)
    right = wiener_deconvolve(blurred, np.full([50], 0.3), np.zeros([50]), 1e-3)
    wrong = wiener_deconvolve(blurred, np.full([50], 0.3), np.full([50], 90.0), 1e-3)
    assert np.mean((right - images) ** 2) < 0.5 * np.mean((wrong - images) ** 2)


def test_no_blur_only_scales_by_one_over_one_plus_k():
    images = np.random.default_rng(1).random([3, 28, 28, 1]).astype(np.float32) * 0.5
    restored = wiener_deconvolve(images, np.zeros([3]), np.zeros([3]), 0.25).numpy()
    np.testing.assert_allclose(restored, images / 1.25, atol=1e-5)
