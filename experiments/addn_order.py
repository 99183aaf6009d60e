"""Shows that TensorFlow's CPU `AddN` sums its inputs in an order that depends
on which of them are still read elsewhere: why resume was exact only to
rounding while grappler's arithmetic optimiser (which makes `AddN`s out of
trees of additions) ran on the train steps (README, "More devices, more machines").

    python experiments/addn_order.py

One graph sums three computed vectors with `AddN` and returns only the sum;
the other also returns the first two, so they are still alive when `AddN`
runs. The kernel writes into the buffer of the first input nothing else
reads and adds from there: the first graph computes (a + b) + c, the second
(c + b) + a. Prints how many of the sums differ and which order each took.
"""

from __future__ import annotations

import click
import numpy as np


@click.command()
@click.option("--size", type=click.IntRange(min=1), default=10_000, show_default=True)
def main(size: int) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    # Three magnitudes apart, so that the order of the additions shows.
    a, b, c = (
        rng.standard_normal(size).astype(np.float32) * scale
        for scale in (1e4, 1.0, 1e-3)
    )

    # `one` is an argument so that grappler cannot fold the products away:
    # each input of AddN is then a fresh buffer the kernel may overwrite.
    @tf.function
    def sum_only(a, b, c, one):
        return tf.math.add_n([a * one, b * one, c * one])

    @tf.function
    def sum_and_first_two(a, b, c, one):
        first, second = a * one, b * one
        return tf.math.add_n([first, second, c * one]), first, second

    one = tf.constant(1.0)
    alone = sum_only(a, b, c, one).numpy()
    kept = sum_and_first_two(a, b, c, one)[0].numpy()
    click.echo(
        f"{int(np.sum(alone != kept))} of {size} sums differ between the graphs."
    )
    for name, result in (("sum only", alone), ("first two kept", kept)):
        orders = [
            label
            for label, reference in (("(a+b)+c", (a + b) + c), ("(c+b)+a", (c + b) + a))
            if np.array_equal(result, reference)
        ]
        click.echo(f"  {name}: {' and '.join(orders) or 'neither order'}")


if __name__ == "__main__":
    main()
