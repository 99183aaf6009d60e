"""Tests of the random blur used for training."""

import numpy as np
import pytest
import tensorflow as tf

from egan_tf.blur_sampling import blur_randomly, sample_blur_parameters
from egan_tf.config import BlurSamplingConfig


def test_samples_follow_the_config_and_the_seed():
    config = BlurSamplingConfig(max_length=0.3, clean_fraction=0.25, max_angle=180.0)
    length, angle = sample_blur_parameters(4000, config, tf.constant([1, 2], tf.int64))
    length, angle = length.numpy(), angle.numpy()
    assert length.shape == angle.shape == (4000,)
    assert length.min() == 0.0
    assert length.max() <= 0.3
    assert np.mean(length == 0.0) == pytest.approx(0.25, abs=0.03)
    assert 0.0 <= angle.min() < 10.0 < 170.0 < angle.max() < 180.0
    again, _ = sample_blur_parameters(4000, config, tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(length, again.numpy())
    other, _ = sample_blur_parameters(4000, config, tf.constant([1, 3], tf.int64))
    assert not np.array_equal(length, other.numpy())


def test_blur_randomly_leaves_the_clean_share_untouched(mnist_test):
    images = tf.constant(mnist_test.images[:64].astype(np.float32) / 255.0)
    blurred, length, _ = blur_randomly(
        images, BlurSamplingConfig(clean_fraction=0.5), tf.constant([3, 4], tf.int64)
    )
    sharp = length.numpy() == 0.0
    assert 0 < sharp.sum() < 64
    np.testing.assert_allclose(blurred.numpy()[sharp], images.numpy()[sharp], atol=1e-5)
    assert np.abs(blurred.numpy()[~sharp] - images.numpy()[~sharp]).mean() > 0.01


@pytest.mark.parametrize(
    "arguments",
    [{"max_length": 0.0}, {"clean_fraction": 1.0}, {"clean_fraction": -0.1}],
)
def test_bad_configs_are_refused(arguments):
    with pytest.raises(ValueError, match="Received"):
        BlurSamplingConfig(**arguments)
