"""Tests of the Fourier-domain motion blur against an independent NumPy version."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from egan_tf.blur import MotionBlur, apply_motion_blur, motion_blur_transfer_function

LENGTHS = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.2]
ANGLES = [0.0, 15.0, 30.0, 45.0, 90.0, 135.0]


def numpy_transfer(height, width, length, angle_degrees):
    """G&W eq. 5-77 in float64 with centred indices, written independently."""
    u = np.fft.fftshift(np.fft.fftfreq(height, d=1.0 / height))[:, None]
    v = np.fft.fftshift(np.fft.fftfreq(width, d=1.0 / width))[None, :]
    a = length * np.cos(np.deg2rad(angle_degrees))
    b = length * np.sin(np.deg2rad(angle_degrees))
    s = u * a + v * b
    return np.sinc(s) * np.exp(-1j * np.pi * s)


def numpy_blur(image, length, angle_degrees, clip=True):
    """Blurs one [height, width] float64 image with the NumPy transfer function."""
    spectrum = np.fft.fftshift(np.fft.fft2(image))
    transfer = numpy_transfer(*image.shape, length, angle_degrees)
    blurred = np.real(np.fft.ifft2(np.fft.ifftshift(spectrum * transfer)))
    return np.clip(blurred, 0.0, 1.0) if clip else blurred


@pytest.fixture(scope="module")
def digits():
    rng = np.random.default_rng(0)
    images = np.zeros((3, 28, 28, 1))
    images[:, 8:20, 12:16, 0] = 1.0
    images[1] = rng.uniform(size=(28, 28, 1))
    images[2, 4:24, 4:24, 0] = np.linspace(0.0, 1.0, 20)[None, :]
    return images


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("angle", ANGLES)
def test_matches_numpy_reference(digits, length, angle):
    blurred = apply_motion_blur(tf.constant(digits, tf.float32), length, angle).numpy()
    expected = np.stack([numpy_blur(image[..., 0], length, angle) for image in digits])
    np.testing.assert_allclose(blurred[..., 0], expected, atol=1e-5)


@pytest.mark.parametrize("angle", ANGLES)
def test_transfer_function_matches_numpy(angle):
    transfer = motion_blur_transfer_function(28, 28, 0.2, angle).numpy()[0]
    np.testing.assert_allclose(transfer, numpy_transfer(28, 28, 0.2, angle), atol=1e-5)


def test_zero_length_is_identity(digits):
    blurred = apply_motion_blur(tf.constant(digits, tf.float32), 0.0, 30.0)
    np.testing.assert_allclose(blurred.numpy(), digits, atol=1e-6)


def test_mean_brightness_is_preserved_before_clipping(digits):
    blurred = apply_motion_blur(tf.constant(digits, tf.float32), 0.2, 30.0, clip=False)
    np.testing.assert_allclose(
        blurred.numpy().mean(axis=(1, 2, 3)), digits.mean(axis=(1, 2, 3)), atol=1e-6
    )
    flat = np.full((1, 28, 28, 1), 0.4, np.float32)
    np.testing.assert_allclose(
        apply_motion_blur(flat, 0.3, 10.0).numpy(), flat, atol=1e-6
    )


@pytest.mark.parametrize("angle", [0.0, 15.0, 45.0, 100.0])
def test_opposite_direction_is_complex_conjugate(angle):
    forward = motion_blur_transfer_function(28, 28, 0.1, angle).numpy()
    backward = motion_blur_transfer_function(28, 28, 0.1, angle + 180.0).numpy()
    np.testing.assert_allclose(backward, np.conj(forward), atol=1e-6)


def _point_image(row=14, column=14):
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, row, column, 0] = 1.0
    return image


def test_zero_angle_smears_along_rows_only():
    # l = 0.25 covers 7 pixels; at θ = 0 the energy spreads down the column.
    blurred = apply_motion_blur(_point_image(), 0.25, 0.0, clip=False).numpy()[
        0, ..., 0
    ]
    energy_along_rows = np.abs(blurred[:, 14]).sum()
    energy_off_column = np.abs(np.delete(blurred, 14, axis=1)).sum()
    assert energy_along_rows > 0.95 * np.abs(blurred).sum()
    assert energy_off_column < 0.05 * np.abs(blurred).sum()
    # The motion moves the centre of mass by half the length (3.5 px) down the rows.
    rows = np.arange(28)
    centre = (blurred[:, 14] * rows).sum() / blurred[:, 14].sum()
    assert centre == pytest.approx(14 + 0.25 * 28 / 2, abs=0.05)


def test_ninety_degrees_smears_along_columns_only():
    blurred = apply_motion_blur(_point_image(), 0.25, 90.0, clip=False).numpy()[
        0, ..., 0
    ]
    assert np.abs(blurred[14, :]).sum() > 0.95 * np.abs(blurred).sum()
    columns = np.arange(28)
    centre = (blurred[14, :] * columns).sum() / blurred[14, :].sum()
    assert centre == pytest.approx(14 + 0.25 * 28 / 2, abs=0.05)


def test_mixed_batch_equals_per_example_calls(digits):
    lengths = np.array([0.05, 0.2, 0.0], np.float32)
    angles = np.array([15.0, 90.0, 45.0], np.float32)
    together = apply_motion_blur(
        tf.constant(digits, tf.float32), lengths, angles
    ).numpy()
    for index in range(3):
        alone = apply_motion_blur(
            tf.constant(digits[index : index + 1], tf.float32),
            lengths[index],
            angles[index],
        ).numpy()
        np.testing.assert_allclose(together[index : index + 1], alone, atol=1e-6)


def test_rank_three_images(digits):
    three = apply_motion_blur(tf.constant(digits[..., 0], tf.float32), 0.2, 30.0)
    four = apply_motion_blur(tf.constant(digits, tf.float32), 0.2, 30.0)
    assert three.shape == (3, 28, 28)
    np.testing.assert_allclose(three.numpy(), four.numpy()[..., 0], atol=1e-6)


def test_gradients_flow_to_images(digits):
    images = tf.Variable(tf.constant(digits, tf.float32) * 0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(apply_motion_blur(images, 0.2, 30.0) ** 2)
    gradient = tape.gradient(loss, images)
    assert gradient is not None
    assert np.all(np.isfinite(gradient.numpy()))
    assert np.abs(gradient.numpy()).sum() > 0


@pytest.mark.parametrize(
    ("arguments", "needle"),
    [
        ({"length": -0.1, "angle": 0.0}, "length"),
        ({"length": float("nan"), "angle": 0.0}, "length"),
        ({"length": float("inf"), "angle": 0.0}, "length"),
        ({"length": 0.1, "angle": float("nan")}, "angle"),
        ({"length": 0.1, "angle": float("inf")}, "angle"),
    ],
)
def test_bad_parameters_raise_value_error_naming_them(digits, arguments, needle):
    with pytest.raises(ValueError, match=f"{needle}.*Received: {needle}="):
        apply_motion_blur(tf.constant(digits, tf.float32), **arguments)
    with pytest.raises(ValueError, match=f"Received: {needle}="):
        MotionBlur(**arguments)


@pytest.mark.parametrize("shape", [(28, 28), (2, 3, 28, 28, 1)])
def test_bad_image_rank_raises_value_error(shape):
    with pytest.raises(ValueError, match=r"Received: images\.shape="):
        apply_motion_blur(tf.zeros(shape), 0.1, 0.0)


def test_bad_values_inside_tf_function_fail_at_run_time(digits):
    blur = tf.function(apply_motion_blur)
    with pytest.raises(tf.errors.InvalidArgumentError, match="length"):
        blur(
            tf.constant(digits, tf.float32),
            tf.constant([-1.0, 0.0, 0.0]),
            tf.zeros([3]),
        )


def test_layer_fixed_setting_matches_function(digits):
    layer = MotionBlur(length=0.2, angle=30.0)
    np.testing.assert_allclose(
        layer(tf.constant(digits, tf.float32)).numpy(),
        apply_motion_blur(tf.constant(digits, tf.float32), 0.2, 30.0).numpy(),
        atol=1e-6,
    )


def test_layer_in_tf_function_and_tf_data(digits):
    layer = MotionBlur()
    lengths = tf.constant([0.05, 0.2, 0.1])
    angles = tf.constant([0.0, 45.0, 90.0])
    expected = layer(tf.constant(digits, tf.float32), lengths, angles).numpy()
    compiled = tf.function(lambda x, length, angle: layer(x, length, angle))
    np.testing.assert_allclose(
        compiled(tf.constant(digits, tf.float32), lengths, angles).numpy(),
        expected,
        atol=1e-6,
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices(
            (tf.constant(digits, tf.float32), lengths, angles)
        )
        .batch(3)
        .map(lambda x, length, angle: layer(x, length, angle))
    )
    np.testing.assert_allclose(next(iter(dataset)).numpy(), expected, atol=1e-6)


def _functional_blur_model(dtype_policy=None):
    images = keras.Input(shape=(28, 28, 1), name="images")
    length = keras.Input(shape=(), name="length")
    angle = keras.Input(shape=(), name="angle")
    blurred = MotionBlur(name="blur", dtype=dtype_policy)(images, length, angle)
    return keras.Model([images, length, angle], blurred, name="blur_model")


def test_layer_in_functional_model_with_dynamic_batch(digits):
    model = _functional_blur_model()
    assert model.output_shape == (None, 28, 28, 1)
    for batch in (1, 3):
        lengths = np.full([batch], 0.2, np.float32)
        angles = np.full([batch], 30.0, np.float32)
        output = model([digits[:batch].astype(np.float32), lengths, angles]).numpy()
        expected = apply_motion_blur(tf.constant(digits[:batch], tf.float32), 0.2, 30.0)
        np.testing.assert_allclose(output, expected.numpy(), atol=1e-6)


def test_layer_under_mixed_precision(digits):
    model = _functional_blur_model(keras.mixed_precision.DTypePolicy("mixed_float16"))
    output = model(
        [
            digits.astype(np.float32),
            np.full([3], 0.2, np.float32),
            np.full([3], 30.0, np.float32),
        ]
    )
    assert output.dtype == tf.float16
    expected = apply_motion_blur(tf.constant(digits, tf.float32), 0.2, 30.0).numpy()
    np.testing.assert_allclose(output.numpy().astype(np.float32), expected, atol=2e-3)


def test_get_config_round_trip():
    layer = MotionBlur(length=0.03, angle=15.0, clip=False, name="my_blur")
    config = layer.get_config()
    rebuilt = MotionBlur.from_config(config)
    assert rebuilt.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    restored = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(restored, MotionBlur)
    assert (restored.length, restored.angle, restored.clip) == (0.03, 15.0, False)


def test_keras_file_round_trip(tmp_path, digits):
    model = _functional_blur_model()
    path = str(tmp_path / "blur.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    inputs = [
        digits.astype(np.float32),
        np.full([3], 0.1, np.float32),
        np.zeros([3], np.float32),
    ]
    np.testing.assert_allclose(
        restored(inputs).numpy(), model(inputs).numpy(), atol=1e-6
    )


def test_saved_model_has_no_python_function_ops(tmp_path, digits):
    layer = MotionBlur()
    module = tf.Module()
    module.blur = tf.function(
        lambda images, length, angle: layer(images, length, angle),
        input_signature=[
            tf.TensorSpec([None, 28, 28, 1], tf.float32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.float32),
        ],
    )
    path = str(tmp_path / "blur_saved_model")
    tf.saved_model.save(module, path, signatures={"blur": module.blur})
    loaded = tf.saved_model.load(path)
    graph = loaded.signatures["blur"].graph.as_graph_def()
    op_types = {node.op for node in graph.node}
    for function in graph.library.function:
        op_types.update(node.op for node in function.node_def)
    assert not op_types & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}
    assert "FFT2D" in op_types
    output = loaded.signatures["blur"](
        images=tf.constant(digits, tf.float32),
        length=tf.fill([3], 0.2),
        angle=tf.fill([3], 30.0),
    )
    expected = apply_motion_blur(tf.constant(digits, tf.float32), 0.2, 30.0).numpy()
    np.testing.assert_allclose(next(iter(output.values())).numpy(), expected, atol=1e-6)


def test_length_is_fraction_of_side():
    # On a 56-pixel image the same l covers twice as many pixels as on 28.
    small = apply_motion_blur(_point_image(), 0.25, 0.0, clip=False).numpy()[
        0, :, 14, 0
    ]
    big_image = np.zeros((1, 56, 56, 1), np.float32)
    big_image[0, 28, 28, 0] = 1.0
    big = apply_motion_blur(big_image, 0.25, 0.0, clip=False).numpy()[0, :, 28, 0]

    def spread(profile):
        rows = np.arange(profile.size)
        mean = (profile * rows).sum() / profile.sum()
        return np.sqrt((profile * (rows - mean) ** 2).sum() / profile.sum())

    assert spread(big) == pytest.approx(2 * spread(small), rel=0.1)
