"""Errors a user can fix, importable without TensorFlow."""

from __future__ import annotations


class ModelFileError(ValueError):
    """A saved model is missing, unreadable or does not fit the others."""
