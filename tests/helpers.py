"""Small shared pieces of the test suite."""

import gzip
import os
import socket

import numpy as np

from egan_tf.config import EganConfig

TINY_EGAN = EganConfig(
    latent_dim=8,
    generator_filters=(8, 4),
    discriminator_filters=(4, 8),
    encoder_filters=(4, 8, 8),
)

# The IDX format's magic numbers: unsigned bytes in 3 and in 1 dimensions.
IDX_IMAGES_MAGIC = 0x0803
IDX_LABELS_MAGIC = 0x0801


def _write_idx(path: str, magic: int, array: np.ndarray) -> None:
    header = magic.to_bytes(4, "big") + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape
    )
    with open(path, "wb") as handle:
        handle.write(gzip.compress(header + array.astype(np.uint8).tobytes()))


def write_idx_folder(folder: str, train, test) -> None:
    """Writes `train` and `test` (ImageArrays) as the four standard IDX .gz
    files of MNIST into `folder`."""
    for prefix, arrays in (("train", train), ("t10k", test)):
        _write_idx(
            os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz"),
            IDX_IMAGES_MAGIC,
            arrays.images[..., 0],
        )
        _write_idx(
            os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz"),
            IDX_LABELS_MAGIC,
            arrays.labels,
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tiny_defense_models(with_optional: bool = True):
    """Every network of the defences at toy size, untrained but seeded."""
    import keras

    from egan_tf.config import BlurEstimatorConfig, ClassifierConfig
    from egan_tf.defenses import DefenseModels
    from egan_tf.networks import (
        build_blur_estimator,
        build_classifier,
        build_encoder,
        build_generator,
    )

    keras.utils.set_random_seed(0)
    tiny_classifier = ClassifierConfig(filters=(4,), dense_units=8)
    optional = {}
    if with_optional:
        optional = {
            "encoder_blur": build_encoder(TINY_EGAN),
            "classifier_augment": build_classifier(tiny_classifier),
            "classifier_mixture": build_classifier(tiny_classifier),
            "blur_estimator": build_blur_estimator(
                BlurEstimatorConfig(filters=(4, 8), dense_units=8)
            ),
        }
    return DefenseModels(
        classifier=build_classifier(tiny_classifier),
        generator=build_generator(TINY_EGAN),
        encoder=build_encoder(TINY_EGAN),
        **optional,
    )


def interrupting(factory, at_call, of_step=1):
    """Wraps a factory of train steps (e.g. `loop.compile_train_step`) so that
    the `of_step`-th step it makes raises KeyboardInterrupt (as Ctrl-C would)
    when called for the `at_call`-th time; the others run as made."""
    made = {"count": 0}

    def make(*args, **kwargs):
        step = factory(*args, **kwargs)
        made["count"] += 1
        if made["count"] != of_step:
            return step
        calls = {"count": 0}

        def interrupted_step(*step_args):
            calls["count"] += 1
            if calls["count"] == at_call:
                raise KeyboardInterrupt
            return step(*step_args)

        return interrupted_step

    return make


def compiled_step(replica_step):
    """`replica_step` compiled as the epoch loop runs it on one device, called
    as step(images, labels, seed) with the whole batch as the global batch."""
    import tensorflow as tf

    from egan_tf.training.runtime import Runtime

    step = Runtime.create().compile_step(replica_step)

    def call(images, labels, seed):
        size = tf.cast(tf.shape(images)[0], tf.int64)
        return step(images, labels, seed, size)

    return call


# Outputs of one exported signature computed two ways (from disk, in a fresh
# process, in memory) agree to this, in probability and pixel units.
EXPORT_TOLERANCE = 1e-5


def assert_outputs_match(actual: dict, expected: dict) -> None:
    """Two signature outputs, name -> NumPy array, have the same names,
    dtypes and shapes and agree to `EXPORT_TOLERANCE`."""
    assert set(actual) == set(expected)
    for key, value in expected.items():
        assert actual[key].dtype == value.dtype, key
        assert actual[key].shape == value.shape, key
        np.testing.assert_allclose(
            actual[key], value, atol=EXPORT_TOLERANCE, err_msg=key
        )


def newest_version(root: str) -> str:
    """The newest integer version directory of an export root."""
    from egan_tf import export

    versions = export.existing_versions(root)
    assert versions, f"no exported version under {root}"
    return os.path.join(root, str(versions[-1]))


def run_like_the_server(server_session, signature, inputs):
    """Runs a signature from a session callable. Unlike `Session.run`, it feeds
    tensors without checking them against the placeholders' static shapes, as
    the model server does, so the graph's own checks are what is tested."""
    from tensorflow.core.protobuf.config_pb2 import CallableOptions

    session, meta_graph = server_session
    signature_def = meta_graph.signature_def[str(signature)]
    keys = sorted(inputs)
    output_keys = sorted(signature_def.outputs)
    options = CallableOptions(
        feed=[signature_def.inputs[key].name for key in keys],
        fetch=[signature_def.outputs[key].name for key in output_keys],
    )
    values = session._make_callable_from_options(options)(
        *[np.asarray(inputs[key]) for key in keys]
    )
    return dict(zip(output_keys, values, strict=True))


def defense_batch(mnist_test, count: int = 6):
    """The first `count` test digits in [0, 1] with one blur setting for all
    (l = 0.2, θ = 30°): (images [count, 28, 28, 1], length, angle)."""
    import tensorflow as tf

    images = tf.constant(mnist_test.images[:count].astype(np.float32) / 255.0)
    return images, tf.fill([count], 0.2), tf.fill([count], 30.0)
