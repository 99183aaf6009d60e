"""Tests of `egan_tf.training.repeatability` and of the train step it checks:
called again and again from one state, the GAN's step ends with the same
variables to the last bit."""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPOSITORY

from egan_tf.training.repeatability import differing_calls


def test_the_gan_step_is_repeatable_past_the_executors_inline_switch():
    # In a process of its own: the probe fixes the thread counts before any
    # op. 250 calls pass the ~90th, after which TensorFlow's executor runs
    # cheap kernels inline and, with grappler's arithmetic optimiser on,
    # about half the calls rounded differently (102 to 112 of 199 in every
    # run, before the training runtime turned it off).
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPOSITORY, "experiments", "repeated_step.py"),
            "--optimizer",
            "sgd",
            "--calls",
            "250",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = re.search(r"(\d+) of (\d+) calls differ", result.stdout)
    assert summary is not None, result.stdout
    assert summary.groups() == ("0", "249"), result.stdout


def test_differing_calls_reports_the_calls_and_variables_that_moved():
    kept = keras.Variable(np.zeros(3, np.float32), name="kept")
    moved = keras.Variable(np.zeros(2, np.float32), name="moved")
    calls = []

    def step():
        calls.append(len(calls))
        kept.assign_add(np.ones(3, np.float32))
        # From the third call on, one value ends elsewhere.
        moved.assign_add(np.array([1.0, 1.0 + (len(calls) > 2) * 0.5], np.float32))

    differences = differing_calls(step, [kept, moved], calls=4)

    assert len(calls) == 4
    assert [difference.call for difference in differences] == [2, 3]
    assert [variable.path for variable in differences[0].variables] == ["moved"]
    assert differences[0].variables[0].count == 1
    assert differences[0].variables[0].largest == pytest.approx(0.5)
    # Every call started from the state the variables held before the first.
    np.testing.assert_array_equal(kept.numpy(), np.ones(3, np.float32))


def test_differing_calls_is_empty_for_a_repeatable_step():
    variable = keras.Variable(np.arange(4, dtype=np.float32), name="weights")
    assert differing_calls(lambda: variable.assign(variable * 0.5), [variable], 5) == []


def test_differing_calls_refuses_fewer_than_two_calls():
    variable = keras.Variable(np.zeros(1, np.float32), name="weights")
    with pytest.raises(ValueError, match="Received: calls=1"):
        differing_calls(lambda: None, [variable], calls=1)
