"""The machine's measured speed, to quote beside any absolute time.

Machines of the same kind differ by 2x in matrix-multiply rate, so a time in
seconds means little alone; `matmul_rate` measures this machine's fp32 rate
the way the README quotes it, and model cards and benchmarks record it.
"""

from __future__ import annotations

import statistics
import time

import tensorflow as tf

# Large enough to run at the rate of the hardware, small enough to take
# milliseconds: 2 · 2048³ ≈ 17 GFLOP a product.
MATMUL_SIZE = 2048


def matmul_rate(
    dtype: tf.DType = tf.float32, size: int = MATMUL_SIZE, repeats: int = 7
) -> float:
    """Median GFLOP/s of a square `size` x `size` matrix product in `dtype`."""
    generator = tf.random.Generator.from_seed(0)
    left = tf.cast(generator.normal([size, size]), dtype)
    right = tf.cast(generator.normal([size, size]), dtype)
    product = tf.function(lambda a, b: tf.reduce_sum(tf.cast(a @ b, tf.float32)))
    product(left, right).numpy()  # Trace and warm up.
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(left, right).numpy()
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(seconds) / 1e9
