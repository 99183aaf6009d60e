"""The encoder's train step, and the step size it settles with.

The step trains E with G and C frozen on the loss of `EncoderLossConfig`;
`settling_schedule` is the decaying step size of settling (beyond the paper).
The loops that run them are in `encoder_fold.py`.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from egan_tf import losses
from egan_tf.blur_sampling import blur_randomly
from egan_tf.config import BlurSamplingConfig, EncoderLossConfig, SettlingConfig
from egan_tf.training.runtime import global_mean


def make_encoder_train_step(
    encoder: keras.Model,
    generator: keras.Model,
    classifier: keras.Model | None,
    optimizer: keras.optimizers.Optimizer,
    loss_config: EncoderLossConfig,
    input_blur: BlurSamplingConfig | None = None,
):
    """Returns the encoder's replica step (`runtime.ReplicaStep`); G and C
    stay frozen.

    The step takes a replica's images float32 [n, 28, 28, 1] in [0, 1],
    labels int64 [n] (unused: the loss needs no labels), its stateless seed
    int64 [2] for the sampled latents of the cycle term and the sampled blur,
    and the global batch size. It returns its shares of the global batch's
    `loss`, `pixel_mse` and, when their weights are non-zero, `latent_cycle`
    and `classifier_kl`.

    With `input_blur`, E sees each image blurred by a random setting while
    every loss term still compares with the sharp image: G(E(blur(x))) is
    pulled towards x, and C(G(E(blur(x)))) towards C(x).
    """
    if loss_config.classifier_weight > 0 and classifier is None:
        raise ValueError(
            "A classifier is needed for classifier_weight > 0. "
            f"Received: classifier_weight={loss_config.classifier_weight}"
        )
    latent_dim = generator.input_shape[-1]

    def train_step(images, labels, seed, global_batch_size):
        del labels
        metrics = {}
        blur_seed, latent_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, num=2)
        )
        inputs = images
        if input_blur is not None:
            inputs, _, _ = blur_randomly(images, input_blur, blur_seed)
        with tf.GradientTape() as tape:
            reconstructions = generator(encoder(inputs, training=True), training=False)
            pixel = losses.reconstruction_loss(images, reconstructions)
            per_example = loss_config.pixel_weight * pixel
            metrics["pixel_mse"] = global_mean(pixel, global_batch_size)
            if loss_config.latent_cycle_weight > 0:
                latents = tf.random.stateless_normal(
                    [tf.shape(images)[0], latent_dim], seed=latent_seed
                )
                reencoded = encoder(generator(latents, training=False), training=True)
                cycle = losses.latent_cycle_loss(latents, reencoded)
                per_example += loss_config.latent_cycle_weight * cycle
                metrics["latent_cycle"] = global_mean(cycle, global_batch_size)
            if loss_config.classifier_weight > 0:
                divergence = losses.classifier_consistency_loss(
                    classifier(images, training=False),
                    classifier(reconstructions, training=False),
                    loss_config.classifier_temperature,
                )
                per_example += loss_config.classifier_weight * divergence
                metrics["classifier_kl"] = global_mean(divergence, global_batch_size)
            loss = tf.nn.compute_average_loss(
                per_example, global_batch_size=global_batch_size
            )
        gradients = tape.gradient(loss, encoder.trainable_variables)
        optimizer.apply_gradients(
            zip(gradients, encoder.trainable_variables, strict=True)
        )
        return {"loss": loss, **metrics}

    return train_step


def settling_schedule(
    settling: SettlingConfig, steps_per_epoch: int
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Settling's step size: `settling.learning_rate` at the first step,
    decayed along a cosine to zero after its last (`settling.epochs` epochs
    of `steps_per_epoch` steps). A function of the optimizer's step count,
    which the checkpoint holds, so a resumed run goes on at the same step."""
    return keras.optimizers.schedules.CosineDecay(
        settling.learning_rate, decay_steps=settling.epochs * steps_per_epoch
    )
