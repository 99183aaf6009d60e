"""Custom tf.function training loops: step factories, epoch loop, checkpoints."""
