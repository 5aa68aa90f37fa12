"""Projection rebuilds started from the operations pages: one background thread per rebuild
in the HTTP process, running the code `hub projections rebuild` runs (`projections.rebuild.
rebuild`: a lease, the new version beside the live one, an atomic switch).

The live runners (`hub project`, or `hub run`'s projections process) keep the old version
up to date meanwhile; the rebuild's lease keeps a second rebuild of the same projection
(from the page or the command line, in any process) out. Progress is kept here, for the
page to poll; a rebuild this process did not start shows from the versions table
(`ProjectionStatus.rebuilding`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import structlog

log = structlog.get_logger(__name__)
RUNNING, DONE, FAILED = "running", "done", "failed"

RebuildFunction = Callable[..., int]
"""`projections.rebuild.rebuild(name, env, database_url, *, progress=...)`."""


@dataclass(frozen=True)
class RebuildJob:
    """One rebuild's state: how far (summed positions and heads of its upstreams), how it ended."""

    name: str
    state: str
    started_at: str
    position: int = 0
    head: int = 0
    version: int | None = None
    error: str = ""

    @property
    def percent(self) -> int:
        if self.state == DONE:
            return 100
        if self.head <= 0:
            return 0
        return min(99, self.position * 100 // self.head)


class RebuildJobs:
    """The rebuilds this process started, by projection name (the latest of each)."""

    def __init__(self, rebuild: RebuildFunction, env: Mapping[str, str], database_url: str) -> None:
        self._rebuild = rebuild
        self._env = dict(env)
        self._database_url = database_url
        self._jobs: dict[str, RebuildJob] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> RebuildJob | None:
        with self._lock:
            return self._jobs.get(name)

    def start(self, name: str) -> RebuildJob:
        """Start rebuilding `name` in a background thread, unless this process already is."""
        with self._lock:
            job = self._jobs.get(name)
            if job is not None and job.state == RUNNING:
                return job
            job = RebuildJob(name, RUNNING, datetime.now(UTC).isoformat())
            self._jobs[name] = job
            thread = threading.Thread(
                target=self._run, args=(name,), name=f"ops-rebuild-{name}", daemon=True
            )
            self._threads[name] = thread
        thread.start()
        return job

    def _set(self, name: str, **changes: object) -> None:
        with self._lock:
            self._jobs[name] = replace(self._jobs[name], **changes)  # type: ignore[arg-type]

    def _run(self, name: str) -> None:
        def progress(position: int, head: int) -> None:
            self._set(name, position=position, head=head)

        try:
            version = self._rebuild(name, self._env, self._database_url, progress=progress)
        except Exception as error:  # shown on the page; the command line shows the same
            log.exception("ops.rebuild_failed", projection=name)
            self._set(name, state=FAILED, error=f"{type(error).__name__}: {error}"[:500])
        else:
            self._set(name, state=DONE, version=version)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the rebuilds under way (tests; shutdown)."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)
