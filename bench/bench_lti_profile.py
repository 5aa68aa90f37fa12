"""Profile the hub's server process of an LTI bench: `--profile FILE` on bench_lti.py or
bench_lti_tool.py runs the served app under cProfile (the event loop's thread: where a
warm score POST, an NRPS page and a launch's checks run) and writes the stats to FILE
when the process is stopped. Read them with `python -m pstats FILE`.
"""

from __future__ import annotations

import cProfile
import os
import signal
from collections.abc import Callable
from functools import partial
from typing import Any

ENV = "HUB_BENCH_PROFILE"


def _exit(*_: object) -> None:
    raise SystemExit(0)


def _run(target: Callable[[Any], None], config: Any) -> None:
    path = os.environ.get(ENV)
    if not path:
        target(config)
        return
    # uvicorn raises the SIGTERM it caught again once shut down: exit through `finally`.
    signal.signal(signal.SIGTERM, _exit)
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        target(config)
    finally:
        profiler.disable()
        profiler.dump_stats(path)


def profiled(target: Callable[[Any], None], path: str | None) -> Callable[[Any], None]:
    """`target`, run under cProfile when `path` is given (through the environment, which
    the spawned server process inherits)."""
    if path:
        os.environ[ENV] = str(path)
    return partial(_run, target)
