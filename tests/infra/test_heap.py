"""`settle_heap`, in a process of its own (it would freeze the test runner's heap)."""

from __future__ import annotations

import json
import subprocess
import sys

from infra.heap import YOUNG_THRESHOLD

PROBE = """
import gc, json
from infra.heap import settle_heap
kept = [[n] for n in range(1000)]  # start-up objects that live on
before = gc.get_freeze_count()
settle_heap()
garbage = []
garbage.append(garbage)  # a cycle made after start-up
del garbage
print(json.dumps({
    "before": before,
    "frozen": gc.get_freeze_count(),
    "threshold": gc.get_threshold(),
    "collected_later": gc.collect(),
}))
"""


def test_start_up_objects_are_frozen_and_later_cycles_still_collected() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    found = json.loads(run.stdout)
    assert found["before"] == 0
    assert found["frozen"] > 1000  # the start-up heap, the kept lists among it
    assert found["threshold"][0] == YOUNG_THRESHOLD
    assert found["collected_later"] >= 1  # the cycle made after settling
