"""egan-tf: measure and undo motion blur in front of an MNIST classifier.

Importing the package is cheap; TensorFlow loads with the submodules that need it.
"""

__version__ = "0.1.0"
