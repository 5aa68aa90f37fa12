"""A small real Spark API on loopback for the connector tests: courses, assignments, `/grades`.

`/grades` keeps every request it receives (so duplicates are visible) and can be told
to answer 503, 429 with `Retry-After`, or 400 for the next N requests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.application import Hub
from hub.domain.spark import SparkConnection
from hub.spark import connection as spark
from infra.secrets import SecretBox
from tests.hub.http.live_server import live_server

API_KEY = "spark-test-key-0123456789"


@dataclass
class GradeRequest:
    idempotency_key: str | None
    body: dict[str, Any]
    status: int


@dataclass
class FakeSpark:
    """The fake's state; tests change it between calls (it is read under a lock)."""

    api_key: str = API_KEY
    courses: dict[str, dict[str, Any]] = field(default_factory=dict)
    assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    grade_requests: list[GradeRequest] = field(default_factory=list)
    api_requests: list[str] = field(default_factory=list)
    _failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_course(
        self, course_id: str, title: str, assignments: list[dict[str, Any]], **extra: Any
    ) -> None:
        with self._lock:
            self.courses[course_id] = {
                "id": course_id,
                "title": title,
                "description": extra.pop("description", ""),
                "assignments": [a["id"] for a in assignments],
                **extra,
            }
            self.assignments[course_id] = assignments

    def fail_grades(self, count: int, status: int, *, retry_after: str | None = None) -> None:
        """The next `count` POSTs to /grades answer `status` (with `Retry-After` if given)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._lock:
            self._failures.extend([(status, headers)] * count)

    def heal(self) -> None:
        """Forget the failures still queued: /grades answers 200 again."""
        with self._lock:
            self._failures.clear()

    def delivered(self) -> dict[str, int]:
        """Successful POSTs per idempotency key."""
        counts: dict[str, int] = {}
        with self._lock:
            for request in self.grade_requests:
                if request.status < 300 and request.idempotency_key is not None:
                    counts[request.idempotency_key] = counts.get(request.idempotency_key, 0) + 1
        return counts

    def grades(self) -> list[GradeRequest]:
        with self._lock:
            return list(self.grade_requests)

    def app(self) -> FastAPI:
        app = FastAPI()

        def authorised(request: Request) -> bool:
            return request.headers.get("Authorization") == f"Bearer {self.api_key}"

        @app.get("/api/courses")
        async def courses(request: Request) -> JSONResponse:
            with self._lock:
                self.api_requests.append("GET /api/courses")
                body = {"courses": list(self.courses.values())}
            if not authorised(request):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return JSONResponse(body)

        @app.get("/api/courses/{course_id}/assignments")
        async def assignments(course_id: str, request: Request) -> JSONResponse:
            with self._lock:
                self.api_requests.append(f"GET /api/courses/{course_id}/assignments")
                found = self.assignments.get(course_id)
            if not authorised(request):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            if found is None:
                return JSONResponse({"error": "not found"}, status_code=404)
            return JSONResponse({"course_id": course_id, "assignments": found})

        @app.post("/grades")
        async def grades(request: Request) -> JSONResponse:
            body = await request.json()
            key = request.headers.get("Idempotency-Key")
            with self._lock:
                status, headers = self._failures.pop(0) if self._failures else (200, {})
                if not authorised(request):
                    status, headers = 401, {}
                self.grade_requests.append(GradeRequest(key, body, status))
            return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

        return app


@contextmanager
def serve(fake: FakeSpark, *, start_timeout: float = 10.0) -> Iterator[str]:
    """The fake on a free loopback port, in a thread; yields its base URL."""
    with live_server(fake.app(), start_timeout=start_timeout, lifespan="off") as url:
        yield url


def connect_spark(
    hub: Hub,
    box: SecretBox,
    tenant: str,
    api_url: str,
    api_key: str | None = API_KEY,
    *,
    allow_loopback: bool = True,
) -> SparkConnection:
    """Register the tenant (if new) and connect it to Spark as `hub spark connect` does."""
    if hub.tenant(tenant) is None:
        hub.register_tenant(tenant, tenant.title(), box)
    hosts = ["127.0.0.1"] if allow_loopback else []
    spark.connect_spark(hub, box, tenant, api_url, allowed_evidence_hosts=hosts, api_key=api_key)
    connection = spark.spark_connection(hub, tenant)
    assert connection is not None
    return connection


def hub_cli(
    *args: str, env: Mapping[str, str], secret_key: str
) -> subprocess.CompletedProcess[str]:
    """Run the `hub` command on the test's streams and data folder, as an operator would."""
    process_env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    process_env |= {
        "HUB_NATS_URL": env["NATS_URL"],
        "HUB_STREAM_PREFIX": env["NATS_STREAM_PREFIX"],
        "HUB_DATA_DIR": env["HUB_DATA_DIR"],
        "HUB_SECRET_KEY": secret_key,
        "HUB_LOG_LEVEL": "WARNING",
    }
    hub = str(Path(sys.executable).parent / "hub")
    return subprocess.run(
        [hub, *args], env=process_env, capture_output=True, text=True, timeout=120, check=False
    )
