"""Tests of the general blur-kernel op and layer against independent references."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.signal import convolve2d

from egan_tf.blur import apply_motion_blur, motion_blur_transfer_function
from egan_tf.kernel_blur import KernelBlur, apply_kernel_blur, check_kernels

RNG = np.random.default_rng(0)
IMAGES = RNG.random((3, 28, 28, 1)).astype(np.float32)


def _random_kernels(size, count=3):
    kernels = RNG.random((count, size, size))
    return kernels / kernels.sum(axis=(1, 2), keepdims=True)


def _scipy_same(images, kernels):
    return np.stack(
        [
            convolve2d(image[..., 0], kernel, mode="same")
            for image, kernel in zip(images, kernels, strict=True)
        ]
    )[..., np.newaxis]


@pytest.mark.parametrize("size", [1, 3, 5, 9, 27])
def test_zero_boundary_equals_scipy_same_convolution(size):
    kernels = _random_kernels(size)
    blurred = apply_kernel_blur(IMAGES, kernels, "zero").numpy()
    np.testing.assert_allclose(blurred, _scipy_same(IMAGES, kernels), atol=1e-5)


def test_an_even_kernel_is_centred_at_k_over_2():
    # scipy's "same" centres an even kernel at (K - 1) // 2; with a zero row
    # and column appended, the kernel's K // 2 is the padded one's centre.
    kernels = _random_kernels(4)
    padded = np.pad(kernels, [(0, 0), (0, 1), (0, 1)])
    np.testing.assert_allclose(
        apply_kernel_blur(IMAGES, kernels, "zero").numpy(),
        _scipy_same(IMAGES, padded),
        atol=1e-5,
    )


def test_the_papers_blur_is_a_circular_kernel_blur():
    lengths, angles = tf.constant([0.2, 0.05, 0.3]), tf.constant([30.0, 0.0, 100.0])
    transfer = motion_blur_transfer_function(28, 28, lengths, angles)
    # The transfer function's kernel, origin moved to the centre K // 2 = 14.
    kernels = tf.math.real(
        tf.signal.ifft2d(tf.signal.ifftshift(transfer, axes=[-2, -1]))
    )
    kernels = tf.roll(kernels, shift=[14, 14], axis=[1, 2])
    np.testing.assert_allclose(
        apply_kernel_blur(IMAGES, kernels, "circular", validate=False).numpy(),
        apply_motion_blur(IMAGES, lengths, angles, clip=False).numpy(),
        atol=1e-5,
    )


def test_a_delta_kernel_is_the_identity_and_gradients_flow():
    delta = np.zeros((3, 5, 5), np.float32)
    delta[:, 2, 2] = 1.0
    for boundary in ("zero", "circular"):
        np.testing.assert_allclose(
            apply_kernel_blur(IMAGES, delta, boundary).numpy(), IMAGES, atol=1e-6
        )
    images = tf.Variable(IMAGES)
    kernels = tf.Variable(_random_kernels(5).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(apply_kernel_blur(images, kernels, validate=False) ** 2)
    image_gradient, kernel_gradient = tape.gradient(loss, [images, kernels])
    assert np.all(np.isfinite(image_gradient.numpy()))
    assert np.abs(kernel_gradient.numpy()).sum() > 0


def test_it_runs_in_a_graph_tf_data_and_a_functional_model(tmp_path):
    kernels = _random_kernels(7).astype(np.float32)
    expected = apply_kernel_blur(IMAGES, kernels).numpy()
    compiled = tf.function(
        lambda x, k: apply_kernel_blur(x, k),
        input_signature=[
            tf.TensorSpec([None, 28, 28, 1]),
            tf.TensorSpec([None, 7, 7]),
        ],
    )
    np.testing.assert_allclose(compiled(IMAGES, kernels), expected, atol=1e-6)
    dataset = tf.data.Dataset.from_tensor_slices((IMAGES, kernels)).batch(3)
    mapped = dataset.map(lambda x, k: apply_kernel_blur(x, k))
    np.testing.assert_allclose(next(iter(mapped)), expected, atol=1e-6)
    image_input = keras.Input((28, 28, 1))
    kernel_input = keras.Input((7, 7))
    model = keras.Model(
        [image_input, kernel_input],
        KernelBlur(boundary="zero")(image_input, kernel_input),
    )
    np.testing.assert_allclose(model([IMAGES, kernels]), expected, atol=1e-6)
    path = str(tmp_path / "blur.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded([IMAGES, kernels]), expected, atol=1e-6)
    assert reloaded.layers[-1].get_config()["boundary"] == "zero"


def test_a_saved_model_has_only_core_ops(tmp_path):
    from egan_tf.export import graph_op_types, unservable_op_types

    module = tf.Module()
    module.blur = tf.function(
        lambda x, k: apply_kernel_blur(x, k),
        input_signature=[tf.TensorSpec([None, 28, 28, 1]), tf.TensorSpec([None, 5, 5])],
    )
    tf.saved_model.save(module, str(tmp_path))
    assert unservable_op_types(graph_op_types(str(tmp_path))) == set()
    loaded = tf.saved_model.load(str(tmp_path))
    kernels = _random_kernels(5).astype(np.float32)
    np.testing.assert_allclose(
        loaded.blur(IMAGES, kernels), apply_kernel_blur(IMAGES, kernels), atol=1e-6
    )


@pytest.mark.parametrize(
    ("kernels", "needle"),
    [
        (-np.ones((1, 3, 3)) / 9, "non-negative"),
        (np.ones((1, 3, 3)), "sum to 1"),
        (np.ones((1, 29, 29)) / 29**2, "larger than the image"),
        (np.ones((1, 3, 4)) / 12, r"\[batch, K, K\]"),
        (np.full((1, 3, 3), np.nan), "finite"),
    ],
)
def test_bad_kernels_are_one_clear_line(kernels, needle):
    with pytest.raises(ValueError, match=needle) as raised:
        apply_kernel_blur(IMAGES[:1], kernels)
    assert len(str(raised.value).splitlines()) == 1
    with pytest.raises(ValueError, match=needle):
        check_kernels(kernels, (28, 28))


def test_bad_kernels_fail_in_a_graph_at_run_time():
    compiled = tf.function(
        lambda x, k: apply_kernel_blur(x, k),
        input_signature=[tf.TensorSpec([None, 28, 28, 1]), tf.TensorSpec([None, 3, 3])],
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="sum to 1"):
        compiled(IMAGES[:1], np.ones((1, 3, 3), np.float32))
