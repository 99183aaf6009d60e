"""Tests of the kernel families and the sensor model."""

import numpy as np
import pytest
import tensorflow as tf

from egan_tf.kernel_blur import check_kernels
from egan_tf.kernels import (
    add_sensor_noise,
    example_seeds,
    fourier_kernels,
    linear_kernels,
    shake_kernels,
    trail_kernels,
)
from egan_tf.spatial_blur import line_kernel

SEED = tf.constant([3, 4], tf.int64)


def _seeds(count, base=SEED, start=0):
    return example_seeds(base, tf.range(start, start + count))


def _support_extent(kernel, floor=1e-3):
    rows = np.nonzero(kernel.sum(axis=1) > floor)[0]
    columns = np.nonzero(kernel.sum(axis=0) > floor)[0]
    return max(np.ptp(rows), np.ptp(columns))


@pytest.mark.parametrize(
    "kernels",
    [
        linear_kernels(tf.constant([0.0, 3.3, 12.0]), tf.constant([0.0, 30.0, 250.0])),
        trail_kernels(
            tf.constant([2.0, 8.0, 12.0]), tf.constant([0.0, 90.0, 45.0]), 3.0
        ),
        shake_kernels(tf.constant([2.0, 6.0, 10.0]), _seeds(3)),
        fourier_kernels(
            tf.constant([0.0, 0.1, 0.4]), tf.constant([0.0, 30.0, 250.0]), 27
        ),
    ],
    ids=["linear", "trail", "shake", "fourier"],
)
def test_every_family_gives_point_spread_functions(kernels):
    check_kernels(kernels.numpy(), (28, 28))  # non-negative, sums to 1, fits
    assert kernels.shape == (3, 27, 27)


def test_fourier_kernels_are_the_formulas_streak():
    from egan_tf.blur import motion_blur_transfer_function

    lengths, angles = tf.constant([0.0, 0.2, 0.3]), tf.constant([0.0, 30.0, 100.0])
    kernels = fourier_kernels(lengths, angles, 15).numpy()
    assert kernels.shape == (3, 15, 15)
    np.testing.assert_allclose(kernels[0][7, 7], 1.0)
    # The formula's own kernel, origin at the centre: the cropped, clipped
    # streak keeps its centre of mass (within a pixel) and most of its weight.
    transfer = motion_blur_transfer_function(28, 28, lengths, angles)
    full = np.real(np.fft.ifft2(np.fft.ifftshift(transfer.numpy(), axes=(-2, -1))))
    full = np.roll(full, (14, 14), axis=(1, 2))
    rows, columns = np.mgrid[:28, :28]
    for kernel, formula in zip(kernels[1:], full[1:], strict=True):
        expected = [(formula * rows).sum() - 14, (formula * columns).sum() - 14]
        small_rows, small_columns = np.mgrid[:15, :15]
        centre = [(kernel * small_rows).sum() - 7, (kernel * small_columns).sum() - 7]
        np.testing.assert_allclose(centre, expected, atol=1.0)
        assert np.abs(np.array(expected)).max() > 1.0  # the streak is off-centre


@pytest.mark.parametrize(("length", "angle"), [(0.0, 0.0), (5.6, 30.0), (11.2, 135.0)])
def test_the_linear_family_matches_the_numpy_line_kernel(length, angle):
    # Two implementations of the same streak; they differ only in how densely
    # the path is sampled.
    kernel = linear_kernels(tf.constant([length]), tf.constant([angle])).numpy()[0]
    reference = line_kernel(length, angle)
    radius, centre = reference.shape[0] // 2, 27 // 2
    crop = kernel[
        centre - radius : centre + radius + 1, centre - radius : centre + radius + 1
    ]
    assert crop.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(crop, reference, atol=5e-3)


def test_a_trail_decays_along_its_path_and_starts_at_the_centre():
    kernel = trail_kernels(tf.constant([10.0]), tf.constant([0.0]), 3.0).numpy()[0]
    along = kernel[14:24, 13]  # θ = 0: down the rows from the centre, skipping it
    assert np.all(np.diff(along) < 0)
    assert kernel[:13].sum() == 0  # one-sided: nothing before the centre
    flat = trail_kernels(tf.constant([10.0]), tf.constant([0.0]), 0.0).numpy()
    np.testing.assert_allclose(flat, linear_kernels([10.0], [0.0]).numpy(), atol=1e-6)


def test_shake_is_fixed_by_its_seed_and_its_extent_is_its_strength():
    extents = tf.constant([2.0, 4.0, 6.0, 8.0, 10.0])
    first = shake_kernels(extents, _seeds(5)).numpy()
    np.testing.assert_array_equal(first, shake_kernels(extents, _seeds(5)).numpy())
    assert not np.allclose(first, shake_kernels(extents, _seeds(5, SEED + 1)).numpy())
    # An example's kernel does not depend on the batch it is drawn in.
    np.testing.assert_allclose(
        shake_kernels(extents[2:], _seeds(3, start=2)).numpy(), first[2:], atol=1e-6
    )
    measured = [_support_extent(kernel) for kernel in first]
    # The support spans the extent, give or take the splat's pixel.
    for extent, span in zip(extents.numpy(), measured, strict=True):
        assert extent - 1 <= span <= extent + 2
    # Not a straight line: the path bends, so both sides of its box are used.
    widths = [
        min(
            np.ptp(np.nonzero(k.sum(1) > 1e-3)[0]),
            np.ptp(np.nonzero(k.sum(0) > 1e-3)[0]),
        )
        for k in shake_kernels(tf.fill([64], 10.0), _seeds(64)).numpy()
    ]
    assert np.median(widths) >= 2


def test_the_shake_walk_is_one_graph_for_every_batch_size():
    from egan_tf.kernels import shake_trajectories

    before = shake_trajectories.experimental_get_tracing_count()
    for count in (3, 5, 9, 17):
        paths = shake_trajectories(_seeds(count)).numpy()
        # The traced loop walks as the same Python run step by step does.
        np.testing.assert_allclose(
            paths, shake_trajectories.python_function(_seeds(count)), atol=1e-6
        )
    # One trace for the first shape, one generic trace for all the others.
    assert shake_trajectories.experimental_get_tracing_count() - before <= 2


def test_sensor_noise_quantises_to_8_bits_and_has_its_sigma():
    images = tf.fill([4, 28, 28, 1], 0.5)
    noisy = add_sensor_noise(images, 0.02, _seeds(4)).numpy()
    np.testing.assert_allclose(noisy * 255, np.round(noisy * 255), atol=1e-4)
    assert noisy.std() == pytest.approx(0.02, rel=0.1)
    assert noisy.min() >= 0.0
    assert noisy.max() <= 1.0
    clean = add_sensor_noise(images, 0.0, _seeds(4)).numpy()
    np.testing.assert_array_equal(
        add_sensor_noise(images[1:], 0.02, _seeds(3, start=1)).numpy(), noisy[1:]
    )
    np.testing.assert_allclose(clean, np.round(0.5 * 255) / 255, atol=1e-7)
