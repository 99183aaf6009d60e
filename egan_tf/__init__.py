"""egan-tf: measure and undo motion blur in front of an MNIST classifier.

Importing the package is cheap; TensorFlow loads with the submodules that need it.
"""

from egan_tf.data_paths import anchor_tfds_data_dir

__version__ = "0.1.0"

# Done on import, the earliest moment the package runs: a relative
# TFDS_DATA_DIR means the folder the user ran from, and later code (notebook
# kernels, subprocesses, tests) may run elsewhere.
anchor_tfds_data_dir()
