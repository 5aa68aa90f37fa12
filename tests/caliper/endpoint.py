"""A Caliper endpoint on loopback: keeps what it receives, answers what a test tells it to."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.hub.http.live_server import live_server


@dataclass
class Received:
    authorization: str | None
    envelope: dict[str, Any]
    status: int


@dataclass
class FakeEndpoint:
    """`mode`: "ok" (200), "fail" (answers `status`) or "slow" (sleeps `delay_s`, then 200)."""

    mode: str = "ok"
    status: int = 500
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, mode: str, *, status: int = 500, delay_s: float = 0.0) -> None:
        with self._lock:
            self.mode, self.status, self.delay_s = mode, status, delay_s

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def delivered_ids(self) -> list[str]:
        """Ids of the events of every accepted envelope, in order (repeats kept)."""
        return [e["id"] for r in self.received() if r.status == 200 for e in r.envelope["data"]]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/caliper")
        async def caliper(request: Request) -> Response:
            body = await request.json()
            with self._lock:
                mode, status, delay = self.mode, self.status, self.delay_s
            if mode == "slow":
                await asyncio.sleep(delay)
            answer = status if mode == "fail" else 200
            # A slow answer comes after the sender gave up: not counted as delivered.
            kept = -1 if mode == "slow" else answer
            with self._lock:
                self.requests.append(Received(request.headers.get("authorization"), body, kept))
            return Response(status_code=answer)

        return app


@contextmanager
def serve(fake: FakeEndpoint) -> Iterator[str]:
    with live_server(fake.app(), lifespan="off") as url:
        yield f"{url}/caliper"
