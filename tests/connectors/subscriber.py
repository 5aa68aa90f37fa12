"""A webhook subscriber on loopback: keeps every request (raw body, headers), answers as told."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from tests.hub.http.live_server import live_server

OK = "ok"
FAIL = "fail"
HANG = "hang"


@dataclass(frozen=True)
class Received:
    """One request as it arrived; `answered` is the status sent, or None while it hangs or
    when the answer came after the subscriber was told to stop hanging."""

    headers: dict[str, str]
    body: bytes
    answered: int | None

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Subscriber:
    """`mode`: OK (200), FAIL (answers `status`) or HANG (accepts the request and keeps it
    without an answer until the mode changes)."""

    mode: str = OK
    status: int = 500
    requests: list[Received] = field(default_factory=list)
    hanging: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def set(self, mode: str, *, status: int = 500) -> None:
        with self._lock:
            self.mode, self.status = mode, status

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def accepted(self) -> list[Received]:
        """The requests answered with a 2xx."""
        return [r for r in self.received() if r.answered is not None and r.answered < 300]

    def hangs(self) -> int:
        with self._lock:
            return self.hanging

    def _mode(self) -> tuple[str, int]:
        with self._lock:
            return self.mode, self.status

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            mode, status = self._mode()
            if mode == HANG:
                with self._lock:
                    self.hanging += 1
                while self._mode()[0] == HANG:
                    await asyncio.sleep(0.02)
                with self._lock:
                    self.hanging -= 1
                    self.requests.append(Received(headers, body, None))
                return Response(status_code=200)
            answer = status if mode == FAIL else 200
            with self._lock:
                self.requests.append(Received(headers, body, answer))
            return Response(status_code=answer)

        return app


@contextmanager
def serve(subscriber: Subscriber) -> Iterator[str]:
    """The subscriber's URL on loopback; a hanging request is let go before the server stops."""
    with live_server(subscriber.app(), lifespan="off") as url:
        try:
            yield f"{url}/hook"
        finally:
            subscriber.set(OK)
