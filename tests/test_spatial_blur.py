"""Tests of the independent spatial line-kernel blur used for the OOD check."""

import numpy as np
import pytest

from egan_tf.blur import apply_motion_blur
from egan_tf.spatial_blur import line_kernel, spatial_motion_blur


def test_kernel_is_normalised_and_lies_on_the_motion_path():
    kernel = line_kernel(5.0, 0.0)
    assert kernel.sum() == pytest.approx(1.0)
    centre = kernel.shape[0] // 2
    rows, columns = np.nonzero(kernel > 1e-9)
    # θ = 0: the path runs down the rows from the centre, 5 pixels long.
    assert set(columns) == {centre}
    assert rows.min() == centre
    assert rows.max() == centre + 5


@pytest.mark.parametrize(("angle", "axis"), [(0.0, 0), (90.0, 1)])
def test_an_impulse_is_smeared_the_same_way_as_by_the_fourier_model(angle, axis):
    impulse = np.zeros([1, 28, 28, 1], np.float32)
    impulse[0, 10, 10, 0] = 1.0
    spatial = spatial_motion_blur(impulse, 0.2, angle).numpy()[0, :, :, 0]
    fourier = apply_motion_blur(impulse, 0.2, angle, clip=False).numpy()[0, :, :, 0]
    for smeared in (spatial, fourier):
        profile = smeared.sum(axis=1 - axis)
        # Both start at the impulse and run 0.2 x 28 = 5.6 pixels towards +θ.
        assert profile[10:16].sum() > 0.85
        assert profile[:9].sum() < 0.05
    np.testing.assert_allclose(
        spatial.sum(axis=1 - axis)[8:18], fourier.sum(axis=1 - axis)[8:18], atol=0.1
    )


def test_it_agrees_with_the_fourier_blur_on_digits_away_from_the_borders(mnist_test):
    images = mnist_test.images[:100].astype(np.float32) / 255.0
    for length, angle in [(0.05, 0.0), (0.15, 30.0), (0.3, 45.0)]:
        spatial = spatial_motion_blur(images, length, angle).numpy()
        fourier = apply_motion_blur(images, length, angle).numpy()
        inner = (slice(None), slice(4, 24), slice(4, 24))
        difference = np.abs(spatial[inner] - fourier[inner]).mean()
        change = np.abs(fourier[inner] - images[inner]).mean()
        assert difference < 0.25 * change, (length, angle)
        # The two are different implementations, not the same numbers.
        assert np.abs(spatial - fourier).max() > 1e-3


def test_zero_length_is_the_identity_and_bad_lengths_are_refused():
    images = np.random.default_rng(0).random([2, 28, 28, 1]).astype(np.float32)
    np.testing.assert_allclose(
        spatial_motion_blur(images, 0.0, 30.0), images, atol=1e-6
    )
    with pytest.raises(ValueError, match="length_pixels"):
        line_kernel(-1.0, 0.0)
