"""Benchmark: how long the methods grid's graph function takes to trace with
AutoGraph (TensorFlow's default) and without it (how it is traced since
session 14).

The methods grid runs every blur setting and method in one `tf.function`,
traced once per call of `evaluate_methods_grid`. On all 10,000 test images the
trace is a small part of the run; on a few images (the notebooks, the tests,
a quick `--limit` run) it is most of it. AutoGraph rewrites the source of
every Python function the trace calls, Keras' layers included, to turn Python
`if` and `for` on tensors into graph ops; this code has none (its loops are
`tf.while_loop` and its branches `tf.cond`), so the graph is the same.

In one process, on the shipped MNIST networks: a fresh trace with AutoGraph
(the cost a command pays: AutoGraph caches what it converted, so it comes
first), a trace without it, then again with it (converted code cached), each
on a new `tf.function`; the ratio; and whether the two graphs hold the same
ops and give the same labels on `--examples` test images.

    TFDS_DATA_DIR=../shared/data/tensorflow_datasets python bench/trace_time.py
"""

from __future__ import annotations

import collections
import time

import click
from common import echo_rates


def _op_counts(concrete) -> collections.Counter:
    """Op types in a concrete function's graph and in every graph it calls."""
    graph = concrete.graph
    counts = collections.Counter(op.type for op in graph.get_operations())
    # The loop bodies and branches are functions of their own.
    for function in graph._functions.values():
        counts.update(node.op for node in function.cached_definition.node_def)
    return counts


@click.command()
@click.option("--models", default="saved_models", show_default=True)
@click.option("--examples", type=click.IntRange(min=1), default=10, show_default=True)
def main(models, examples):
    import numpy as np
    import tensorflow as tf

    from egan_tf.data import load_split
    from egan_tf.defenses import Method, load_defense_config, load_defense_models
    from egan_tf.grid_spec import GridSpec
    from egan_tf.methods_grid import make_methods_forward

    echo_rates("before")
    defense_models = load_defense_models(models)
    config = load_defense_config(models)
    test = load_split("test", limit=examples)
    spec = GridSpec(length_scale=6)
    forward = make_methods_forward(defense_models, config, list(Method), spec)
    signature = forward.input_signature
    images = tf.constant(test.images)
    indices = tf.range(examples, dtype=tf.int64)

    seconds, concretes = {}, {}
    for name, autograph in (
        ("AutoGraph, first", True),
        ("no AutoGraph", False),
        ("AutoGraph, cached", True),
    ):
        function = tf.function(
            forward.python_function, input_signature=signature, autograph=autograph
        )
        began = time.perf_counter()
        concretes[name] = function.get_concrete_function()
        seconds[name] = time.perf_counter() - began
    click.echo(
        f"methods grid, {len(list(Method))} methods x {len(spec.settings)} settings"
    )
    for name, value in seconds.items():
        click.echo(f"  trace, {name:<18} {value:7.1f} s")
    click.echo(
        f"AutoGraph (first) / none: "
        f"{seconds['AutoGraph, first'] / seconds['no AutoGraph']:.2f}x"
    )
    same_ops = _op_counts(concretes["AutoGraph, first"]) == _op_counts(
        concretes["no AutoGraph"]
    )
    labels = {
        name: concretes[name](images, indices)[0]
        for name in ("AutoGraph, first", "no AutoGraph")
    }
    same_labels = all(
        np.array_equal(labels["AutoGraph, first"][key], labels["no AutoGraph"][key])
        for key in labels["no AutoGraph"]
    )
    click.echo(f"same op counts: {same_ops}; same labels: {same_labels}")
    echo_rates("after")


if __name__ == "__main__":
    main()
