"""What the Spark simulator holds and records: its catalogue and files, faults to inject,
the grades that arrived, the files fetched. Shared by the server's thread and the test's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

from hub.dev.spark_demo import DemoFile, demo_catalogue, demo_files


@dataclass(frozen=True)
class Fault:
    """How to answer the next requests instead of normally.

    `fail_with`: the status to answer (None: answer normally, after `delay_s`);
    `retry_after`: seconds in a `Retry-After` header; `delay_s`: wait before answering
    (to make a client time out).
    """

    fail_with: int | None = None
    times: int = 1
    retry_after: float | None = None
    delay_s: float = 0.0


class FaultPlan:
    """Faults for the next `times` requests of one endpoint; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._left = 0

    def set(self, fault: Fault) -> None:
        with self._lock:
            self._fault, self._left = fault, max(fault.times, 0)

    def clear(self) -> None:
        self.set(Fault(times=0))

    def take(self) -> Fault | None:
        """The fault for this request, if any is left (consumes one)."""
        with self._lock:
            if self._fault is None or self._left <= 0:
                return None
            self._left -= 1
            return self._fault

    @property
    def left(self) -> int:
        with self._lock:
            return self._left


@dataclass(frozen=True)
class GradeRequest:
    """One `POST /grades` as it arrived, and how the simulator answered."""

    received_at: float
    idempotency_key: str | None
    body: Any
    status: int
    authorized: bool
    duplicate: bool = False

    @property
    def delivered(self) -> bool:
        """Accepted the first time (a retry of an accepted key is a duplicate)."""
        return 200 <= self.status < 300 and not self.duplicate

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delivered": self.delivered}


@dataclass(frozen=True)
class FileDownload:
    received_at: float
    name: str
    status: int


@dataclass
class SparkState:
    """The simulator's data and records; every method is safe from any thread."""

    api_key: str
    api_rate_limit: int | None = 100
    catalogue: list[dict[str, Any]] = field(default_factory=demo_catalogue)
    files: dict[str, DemoFile] = field(default_factory=demo_files)
    grade_faults: FaultPlan = field(default_factory=FaultPlan)
    file_faults: FaultPlan = field(default_factory=FaultPlan)
    _grades: list[GradeRequest] = field(default_factory=list)
    _downloads: list[FileDownload] = field(default_factory=list)
    _api_calls: deque[float] = field(default_factory=deque)
    _api_total: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # the API

    def courses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {**course, "assignments": [a["id"] for a in course["assignments"]]}
                for course in self.catalogue
            ]

    def assignments(self, course_id: str) -> list[dict[str, Any]] | None:
        with self._lock:
            for course in self.catalogue:
                if course["id"] == course_id:
                    return [dict(a) for a in course["assignments"]]
        return None

    def set_catalogue(self, catalogue: list[dict[str, Any]]) -> None:
        """Replace the courses (each with its assignments inline, as `demo_catalogue`)."""
        with self._lock:
            self.catalogue = [
                {**c, "assignments": [dict(a) for a in c.get("assignments", [])]} for c in catalogue
            ]

    def api_call_wait(self, now: float | None = None) -> float | None:
        """Count an API call; seconds to wait if it is over the per-minute limit, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._api_total += 1
            while self._api_calls and self._api_calls[0] <= now - 60:
                self._api_calls.popleft()
            if self.api_rate_limit is not None and len(self._api_calls) >= self.api_rate_limit:
                return max(self._api_calls[0] + 60 - now, 0.0)
            self._api_calls.append(now)
            return None

    @property
    def api_calls(self) -> int:
        """API requests received (those refused for the rate limit included)."""
        with self._lock:
            return self._api_total

    # grades

    def record_grade(
        self, key: str | None, body: Any, status: int, *, authorized: bool
    ) -> GradeRequest:
        """Record a grade request; a 2xx for a key accepted before is marked a duplicate."""
        with self._lock:
            duplicate = (
                200 <= status < 300
                and key is not None
                and any(g.idempotency_key == key and g.delivered for g in self._grades)
            )
            request = GradeRequest(time.time(), key, body, status, authorized, duplicate)
            self._grades.append(request)
            return request

    def grades(self) -> list[GradeRequest]:
        with self._lock:
            return list(self._grades)

    def delivered_grades(self) -> list[GradeRequest]:
        return [g for g in self.grades() if g.delivered]

    def clear_grades(self) -> None:
        with self._lock:
            self._grades.clear()
        self.grade_faults.clear()

    # files

    def add_file(self, name: str, file: DemoFile) -> None:
        with self._lock:
            self.files[name] = file

    def file(self, name: str) -> DemoFile | None:
        with self._lock:
            return self.files.get(name)

    def record_download(self, name: str, status: int) -> None:
        with self._lock:
            self._downloads.append(FileDownload(time.time(), name, status))

    def downloads(self) -> list[FileDownload]:
        with self._lock:
            return list(self._downloads)
