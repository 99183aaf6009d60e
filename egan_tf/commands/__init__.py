"""The egan-tf command line: measure and undo motion blur in front of a classifier.

Every command is thin: options -> one request (config records, checked
before TensorFlow is imported) -> one library call -> print. Errors the user
can fix are reported on one `Error:` line: exit 2 for a bad option or path
(as click does), 1 for a failure while working (missing or corrupt data or
models), 130 for an interrupted training run (after its checkpoint).

Commands by role: `training.py`, `reproduce.py`, `evaluation.py`,
`deployment.py`; what they share is in `options.py`.
"""

from __future__ import annotations

import os

# Quiet TensorFlow's C++ start-up chatter before it is imported.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click

from egan_tf.commands import deployment, evaluation, reproduce, training


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Measure how motion blur hurts an image classifier (MNIST or Fashion-MNIST)
    and undo it with an EGAN."""


for _module in (training, reproduce, evaluation, deployment):
    for _command in vars(_module).values():
        if isinstance(_command, click.Command):
            main.add_command(_command)
