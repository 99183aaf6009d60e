"""Writes MNIST's test digits as a user's photographs might come: enlarged to
`--side` pixels and dark on light, sharp and blurred, as `.npz` files for
`evaluate --images ... --resize --invert` (README, "Images of another size,
or dark on light").

    python experiments/resized_images.py --output-dir /tmp/resized
    python cli.py evaluate --images /tmp/resized/sharp.npz --resize --invert

Four files, each with the 10,000 test labels:
- `sharp_28.npz`: the digits as they are (the reference);
- `sharp.npz`: enlarged bilinearly to side x side and inverted;
- `blurred_28.npz`: blurred at 28x28 by the Fourier model (l, θ);
- `blurred.npz`: enlarged first, then blurred by the same l (a fraction of
  the side, so the same streak relative to the digit) and θ at side x side,
  then inverted: blur made at the camera's resolution.
"""

from __future__ import annotations

import os

import click
import numpy as np


@click.command()
@click.option("--output-dir", type=click.Path(file_okay=False), required=True)
@click.option("--side", type=click.IntRange(min=29), default=112, show_default=True)
@click.option(
    "--length", type=click.FloatRange(min=0.0), default=0.25, show_default=True
)
@click.option("--angle", type=float, default=30.0, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None)
def main(output_dir: str, side: int, length: float, angle: float, limit) -> None:
    import tensorflow as tf

    from egan_tf.blur import apply_motion_blur
    from egan_tf.data import load_split

    test = load_split("test").take(limit)
    digits = test.images.astype(np.float32) / 255.0
    enlarged = tf.image.resize(digits, (side, side), method="bilinear").numpy()
    os.makedirs(output_dir, exist_ok=True)

    def as_uint8(images: np.ndarray) -> np.ndarray:
        return np.round(np.clip(images[..., 0], 0.0, 1.0) * 255).astype(np.uint8)

    variants = {
        "sharp_28": as_uint8(digits),
        "sharp": as_uint8(1.0 - enlarged),
        "blurred_28": as_uint8(apply_motion_blur(digits, length, angle).numpy()),
        "blurred": as_uint8(1.0 - apply_motion_blur(enlarged, length, angle).numpy()),
    }
    for name, images in variants.items():
        path = os.path.join(output_dir, f"{name}.npz")
        np.savez(path, images=images, labels=test.labels)
        click.echo(
            f"{path}: {images.shape[0]} images of {images.shape[1]}x{images.shape[2]}"
        )


if __name__ == "__main__":
    main()
