"""Small shared pieces of the test suite."""

import socket

from egan_tf.config import EganConfig

TINY_EGAN = EganConfig(
    latent_dim=8,
    generator_filters=(8, 4),
    discriminator_filters=(4, 8),
    encoder_filters=(4, 8, 8),
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
