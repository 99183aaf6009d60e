"""Whether the GAN's compiled train step can read and write one variable in
two orders: a probe of why resume is exact only to rounding (README, "More
devices, more machines").

TensorFlow orders the stateful ops of a `tf.function` that touch one
resource (automatic control dependencies). If a variable were captured
twice, or one of its reads were not ordered against one of its writes, the
executor could run them in either order, and a result would depend on
scheduling. This traces the step the GAN is trained with (the shipped
sizes, one device, float32) and checks, for every variable, that every
write is an ancestor or a descendant of every other op using it.

    python experiments/step_variable_order.py

Prints the number of variables, resource captures and ops using them, and
every unordered pair (none means no such race in the step's graph).
"""

from __future__ import annotations

import collections

import click


def _ancestors(op, cache: dict) -> set:
    """Every op `op` depends on, through data and control inputs."""
    if op not in cache:
        found, stack = set(), [op]
        while stack:
            current = stack.pop()
            for parent in [tensor.op for tensor in current.inputs] + list(
                current.control_inputs
            ):
                if parent not in found:
                    found.add(parent)
                    stack.append(parent)
        cache[op] = found
    return cache[op]


@click.command()
@click.option("--batch-size", default=16, show_default=True)
def main(batch_size: int) -> None:
    import keras
    import tensorflow as tf

    from egan_tf.config import EganConfig
    from egan_tf.defaults import PAPER_GAN_TRAINING
    from egan_tf.networks import build_discriminator, build_generator
    from egan_tf.training.gan import make_gan_train_step
    from egan_tf.training.runtime import Runtime

    runtime = Runtime.create()
    generator = runtime.build(lambda: build_generator(EganConfig()))
    discriminator = runtime.build(lambda: build_discriminator(EganConfig()))

    def adam():
        return keras.optimizers.Adam(
            PAPER_GAN_TRAINING.learning_rate, beta_1=PAPER_GAN_TRAINING.beta_1
        )

    optimizers = [
        runtime.build_optimizer(adam, model.trainable_variables)
        for model in (generator, discriminator)
    ]
    step = runtime.compile_step(
        make_gan_train_step(generator, discriminator, *optimizers)
    )
    graph = step.get_concrete_function(
        tf.TensorSpec([batch_size, 28, 28, 1], tf.float32),
        tf.TensorSpec([batch_size], tf.int64),
        tf.TensorSpec([2], tf.int64),
        tf.TensorSpec([], tf.int32),
    ).graph

    captured = collections.Counter(
        id(external) for external, _ in graph.captures if external.dtype == tf.resource
    )
    users = collections.defaultdict(list)
    for op in graph.get_operations():
        for tensor in op.inputs:
            if tensor.dtype == tf.resource:
                users[tensor.name].append(op)
    cache: dict = {}
    unordered = []
    for resource, ops in users.items():
        for write in (op for op in ops if "Assign" in op.type):
            for other in ops:
                if other is write or other in _ancestors(write, cache):
                    continue
                if write not in _ancestors(other, cache):
                    unordered.append((resource, write.name, other.name))
    variables = len(generator.variables + discriminator.variables) + sum(
        len(optimizer.variables) for optimizer in optimizers
    )
    print(f"variables: {variables}")
    print(
        f"resource captures: {len(captured)} (captured more than once: "
        f"{sum(count > 1 for count in captured.values())})"
    )
    print(f"ops using a resource: {sum(len(ops) for ops in users.values())}")
    print(f"write/access pairs in no fixed order: {len(unordered)}")
    for resource, write, other in unordered:
        print(f"  {resource}: {write} and {other}")


if __name__ == "__main__":
    main()
