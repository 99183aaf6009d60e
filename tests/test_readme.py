"""The README quotes no absolute time without the machine's speed beside it."""

import os
import re

from conftest import REPOSITORY

# A number with a unit of time: "59.8 s", "1.2 ms", "15 min", "4 minutes".
ABSOLUTE_TIME = re.compile(
    r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s?(?:ms|s|seconds|minutes|min)\b"
)
# Machines of one kind differ by 2x; a time means something only beside the
# fp32 matmul rate measured with it.
MACHINE_SPEED = "GFLOP/s"


def test_every_absolute_time_has_the_matmul_rate_beside_it():
    with open(os.path.join(REPOSITORY, "README.md"), encoding="utf-8") as handle:
        blocks = re.split(r"\n\s*\n", handle.read())
    offending = []
    for index, block in enumerate(blocks):
        if block.lstrip().startswith("```") or not ABSOLUTE_TIME.search(block):
            continue
        # A table's rate may be in the paragraph that introduces it.
        context = block + (blocks[index - 1] if index else "")
        if MACHINE_SPEED not in context:
            offending.append(block.strip()[:120])
    assert not offending, offending
