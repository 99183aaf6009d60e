"""Pure loss functions.

Every function returns one loss per example, shape [batch], so that a train
step can average over the global batch with `tf.nn.compute_average_loss` and
run unchanged under a `tf.distribute` strategy.
"""

import tensorflow as tf


def classification_loss(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Softmax cross-entropy.

    Args:
        labels: int tensor [batch], classes 0..num_classes-1.
        logits: float tensor [batch, num_classes].

    Returns:
        float32 tensor [batch].
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32)
    )


def discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, real_label: float = 1.0
) -> tf.Tensor:
    """Binary cross-entropy of D on a real and a generated batch.

    Args:
        real_logits: float tensor [batch, 1], D's scores of real images.
        fake_logits: float tensor [batch, 1], D's scores of G's images. Same batch.
        real_label: Target for real images; below 1 is one-sided label smoothing.

    Returns:
        float32 tensor [batch]: the loss on real plus the loss on fake.
    """
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    real = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(real_logits), real_label), logits=real_logits
    )
    fake = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits
    )
    return tf.reduce_sum(real, axis=-1) + tf.reduce_sum(fake, axis=-1)


def generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss, -log D(G(z)).

    Args:
        fake_logits: float tensor [batch, 1], D's scores of G's images.

    Returns:
        float32 tensor [batch].
    """
    fake_logits = tf.cast(fake_logits, tf.float32)
    return tf.reduce_sum(
        tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.ones_like(fake_logits), logits=fake_logits
        ),
        axis=-1,
    )


def reconstruction_loss(images: tf.Tensor, reconstructions: tf.Tensor) -> tf.Tensor:
    """Mean squared pixel error per example.

    Args:
        images: float tensor [batch, height, width, channels] in [0, 1].
        reconstructions: float tensor of the same shape.

    Returns:
        float32 tensor [batch].
    """
    difference = tf.cast(images, tf.float32) - tf.cast(reconstructions, tf.float32)
    return tf.reduce_mean(tf.square(difference), axis=[1, 2, 3])


def latent_cycle_loss(latents: tf.Tensor, reencoded: tf.Tensor) -> tf.Tensor:
    """Mean squared error between sampled latents z and E(G(z)).

    Args:
        latents: float tensor [batch, latent_dim].
        reencoded: float tensor [batch, latent_dim].

    Returns:
        float32 tensor [batch].
    """
    difference = tf.cast(latents, tf.float32) - tf.cast(reencoded, tf.float32)
    return tf.reduce_mean(tf.square(difference), axis=-1)


def classifier_consistency_loss(
    reference_logits: tf.Tensor, logits: tf.Tensor, temperature: float = 1.0
) -> tf.Tensor:
    """KL divergence KL(softmax(reference / T) || softmax(logits / T)) · T².

    Used with the frozen classifier: reference C(x), compared C(G(E(x))). It asks
    the reconstruction to keep the digit's identity, with no labels needed. At
    T = 1 (the paper's term) a classifier sure of x gives the wrong classes'
    logits almost no weight; a temperature above 1 softens both distributions,
    so how C ranks the wrong classes counts too (Hinton et al.'s distillation),
    and the factor T² keeps the gradients' size that of T = 1, so that one
    weight serves every temperature.

    Args:
        reference_logits: float tensor [batch, num_classes]; no gradient flows into it.
        logits: float tensor [batch, num_classes].
        temperature: T, a positive float; 1 is the plain KL divergence.

    Returns:
        float32 tensor [batch], non-negative.
    """
    reference_log_probabilities = tf.nn.log_softmax(
        tf.stop_gradient(tf.cast(reference_logits, tf.float32)) / temperature
    )
    log_probabilities = tf.nn.log_softmax(tf.cast(logits, tf.float32) / temperature)
    divergence = tf.reduce_sum(
        tf.exp(reference_log_probabilities)
        * (reference_log_probabilities - log_probabilities),
        axis=-1,
    )
    return divergence * (temperature * temperature)


def blur_estimation_loss(
    predicted: tf.Tensor,
    length: tf.Tensor,
    angle_degrees: tf.Tensor,
    length_scale: float,
) -> tf.Tensor:
    """Error of a predicted motion blur against the true one.

    The length term is the squared error of l / length_scale. The direction
    term is the squared distance between the predicted and true unit vectors
    (cos θ, sin θ), weighted by the true l / length_scale (clipped at 1):
    the direction of a very short blur is barely visible, and of no blur at
    all undefined.

    Args:
        predicted: float [batch, 3], (l, cos θ, sin θ) as the estimator gives
            them (the direction need not be normalised).
        length: float [batch], the true l.
        angle_degrees: float [batch], the true θ.
        length_scale: Typical length, e.g. the largest trained on.

    Returns:
        float32 [batch].
    """
    predicted = tf.cast(predicted, tf.float32)
    length = tf.cast(length, tf.float32)
    radians = tf.cast(angle_degrees, tf.float32) * (3.141592653589793 / 180.0)
    length_error = tf.square((predicted[:, 0] - length) / length_scale)
    direction = tf.math.l2_normalize(predicted[:, 1:], axis=-1)
    truth = tf.stack([tf.cos(radians), tf.sin(radians)], axis=-1)
    direction_error = tf.reduce_sum(tf.square(direction - truth), axis=-1)
    weight = tf.minimum(length / length_scale, 1.0)
    return length_error + weight * direction_error
