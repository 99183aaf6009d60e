"""A model card's matmul rate says what it was measured under: a process of
one thread beside another training measures a fraction of the machine."""

import json
import os
import subprocess
import sys

import pytest

from egan_tf.machine import intra_op_threads

_WRITE_A_CARD = """
import sys
from egan_tf.model_io import write_model_card
write_model_card(sys.argv[1], {"stage": "probe"})
"""


@pytest.mark.parametrize("threads", [None, "1"])
def test_a_card_records_the_threads_its_matmul_rate_ran_on(tmp_path, threads):
    environment = {
        name: value
        for name, value in os.environ.items()
        if name != "TF_NUM_INTRAOP_THREADS"
    }
    if threads is not None:
        environment["TF_NUM_INTRAOP_THREADS"] = threads
    path = tmp_path / "card.json"
    subprocess.run(
        [sys.executable, "-c", _WRITE_A_CARD, str(path)],
        env=environment,
        check=True,
        timeout=300,
        capture_output=True,
    )
    card = json.loads(path.read_text())
    assert card["stage"] == "probe"
    assert card["machine_fp32_matmul_gflops"] > 0
    assert card["machine_cpu_count"] == os.cpu_count()
    expected = int(threads) if threads else os.cpu_count()
    assert card["machine_matmul_threads"] == expected
    assert card["machine_load_average"] >= 0


def test_a_malformed_thread_variable_is_not_taken_for_a_count(monkeypatch):
    import tensorflow as tf

    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "not a number")
    configured = tf.config.threading.get_intra_op_parallelism_threads()
    expected = configured if configured > 0 else os.cpu_count()
    assert intra_op_threads() == expected
