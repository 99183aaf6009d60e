"""The machine's measured speed, to quote beside any absolute time.

Machines of the same kind differ by 2x in matrix-multiply rate, so a time in
seconds means little alone; `matmul_rate` measures this machine's fp32 rate
the way the README quotes it, and model cards and benchmarks record it.
A process run with fewer threads than cores (two trainings side by side, one
thread each) measures a fraction of the machine's rate, so a record also says
how many threads the rate was measured on and how loaded the machine was.
"""

from __future__ import annotations

import os
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


def intra_op_threads() -> int:
    """The threads one TensorFlow op of this process may use: as set by
    `tf.config.threading` or `TF_NUM_INTRAOP_THREADS`, else one per core."""
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    if configured > 0:
        return configured
    try:
        from_environment = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0"))
    except ValueError:
        from_environment = 0
    return from_environment if from_environment > 0 else os.cpu_count() or 1


def machine_record(repeats: int = 3) -> dict[str, float | int]:
    """This process's fp32 matmul rate and what it was measured under.

    Returns:
        `machine_fp32_matmul_gflops` (GFLOP/s, one decimal),
        `machine_matmul_threads` (this process's intra-op threads),
        `machine_cpu_count` and `machine_load_average` (the 1-minute load
        average, about the number of busy cores, this process's included).
    """
    return {
        "machine_fp32_matmul_gflops": round(matmul_rate(repeats=repeats), 1),
        "machine_matmul_threads": intra_op_threads(),
        "machine_cpu_count": os.cpu_count() or 1,
        "machine_load_average": round(os.getloadavg()[0], 2),
    }
