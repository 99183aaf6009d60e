"""Tests of `egan_tf.image_reading.ImageReading`: images of other sizes fitted
to 28x28 or refused, dark-on-light images inverted."""

import numpy as np
import pytest

from egan_tf.image_reading import ImageReading
from egan_tf.user_images import ImagesError


def _scan(size: int) -> np.ndarray:
    """A dark stroke on white paper, `size` x `size`, float32 in [0, 1]."""
    paper = np.ones((size, size), np.float32)
    paper[size // 5 : 4 * size // 5, size // 2 - size // 14 : size // 2] = 0.1
    return paper


def test_a_large_scan_is_inverted_and_averaged_down_by_area():
    scan = _scan(280)
    fitted = ImageReading(resize=True, invert=True).fit(scan, "scan.png")
    # Each output pixel is the mean of the 10x10 block it covers.
    expected = (1.0 - scan).reshape(28, 10, 28, 10).mean(axis=(1, 3))
    assert fitted.shape == (28, 28)
    assert fitted.dtype == np.float32
    np.testing.assert_allclose(fitted, expected, atol=1e-6)


def test_a_wide_image_keeps_its_proportions_centred_on_black():
    wide = np.zeros((28, 56), np.float32)
    wide[:, 20:36] = 1.0
    fitted = ImageReading(resize=True).fit(wide, "wide.png")
    # Padded to 56x56 with 14 black rows above and below, then halved.
    assert fitted[:7].max() == 0.0
    assert fitted[21:].max() == 0.0
    np.testing.assert_allclose(fitted[7:21, 10:18], 1.0)
    assert fitted[7:21, :10].max() == 0.0
    assert fitted[7:21, 18:].max() == 0.0


def test_a_small_image_is_enlarged_within_the_unit_interval():
    small = np.zeros((14, 14), np.float32)
    small[3:11, 6:8] = 1.0
    fitted = ImageReading(resize=True).fit(small, "small.png")
    assert fitted.shape == (28, 28)
    assert fitted.min() >= 0.0
    assert fitted.max() <= 1.0
    # The stroke stays in the middle columns.
    columns = fitted.sum(axis=0)
    assert int(np.argmax(columns)) in range(12, 16)


def test_a_28x28_image_is_only_inverted_when_asked():
    image = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
    np.testing.assert_array_equal(ImageReading().fit(image, "a.png"), image)
    np.testing.assert_array_equal(ImageReading(resize=True).fit(image, "a.png"), image)
    np.testing.assert_allclose(ImageReading(invert=True).fit(image, "a.png"), 1 - image)


def test_another_size_is_refused_without_resize_naming_the_image():
    with pytest.raises(
        ImagesError,
        match=r"28x28 pixels \(--resize fits other sizes\)\. Received: scan\.png of 280x280",
    ):
        ImageReading().fit(_scan(280), "scan.png")
