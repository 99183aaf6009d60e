"""Benchmark: this machine's fp32 matrix-multiply rate, beside bfloat16's.

The fp32 rate is the figure to quote beside any absolute time in the README
or a model card (machines of one kind differ by 2x). bfloat16 is measured in
the same process for the ratio (the CPU has AVX-512 BF16).

    python bench/matmul_rate.py
"""

from __future__ import annotations

import click


@click.command()
@click.option("--size", type=click.IntRange(min=64), default=2048, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=7, show_default=True)
def main(size, repeats):
    import tensorflow as tf

    from egan_tf.machine import matmul_rate

    fp32 = matmul_rate(tf.float32, size, repeats)
    bf16 = matmul_rate(tf.bfloat16, size, repeats)
    click.echo(f"{size}x{size} matmul, median of {repeats}:")
    click.echo(f"  float32  {fp32:8.1f} GFLOP/s")
    click.echo(f"  bfloat16 {bf16:8.1f} GFLOP/s  ({bf16 / fp32:.2f}x float32)")


if __name__ == "__main__":
    main()
