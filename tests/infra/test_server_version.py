"""The hub refuses a NATS server that is too old, and says so in one clear line."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest

from infra.errors import NatsServerTooOldError, NatsUnavailableError
from infra.nats_client import NatsConnection
from infra.nats_server import free_port


class FakeNatsServer:
    """Speaks just enough of the NATS protocol to announce an old version: INFO, PING/PONG."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.port = 0
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fake-nats", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        info = {
            "server_id": "x",
            "version": self.version,
            "go": "go1.20",
            "host": "127.0.0.1",
            "port": self.port,
            "headers": True,
            "max_payload": 1048576,
            "proto": 1,
        }
        writer.write(b"INFO " + json.dumps(info).encode() + b"\r\n")
        try:
            await writer.drain()
            while line := await reader.readline():
                if line.startswith(b"PING"):
                    writer.write(b"PONG\r\n")
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        await self._server.wait_closed()

    def __enter__(self) -> FakeNatsServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


@pytest.fixture
def old_server() -> Iterator[FakeNatsServer]:
    with FakeNatsServer("2.9.25") as server:
        yield server


def test_refuses_a_server_older_than_2_12(old_server: FakeNatsServer) -> None:
    with pytest.raises(NatsServerTooOldError) as caught:
        NatsConnection(old_server.url, timeout=2.0)
    message = str(caught.value)
    assert "\n" not in message
    assert "2.9.25" in message
    assert "2.12.0 or newer" in message
    assert old_server.url in message
    assert "upgrade" in message
    assert "HUB_NATS_URL" in message  # what to do instead: use the bundled server
    assert old_server.connections == 1  # it connected, read the version and gave up


def test_shared_connection_refuses_too(old_server: FakeNatsServer) -> None:
    with pytest.raises(NatsServerTooOldError):
        NatsConnection.shared(old_server.url)
    # Nothing half-open is cached for that URL: asking again asks the server again.
    with pytest.raises(NatsServerTooOldError):
        NatsConnection.shared(old_server.url)
    assert old_server.connections == 2


def test_unreachable_server_fails_promptly_with_a_clear_message() -> None:
    url = f"nats://127.0.0.1:{free_port()}"  # nobody listens there
    with pytest.raises(NatsUnavailableError) as caught:
        NatsConnection(url, timeout=2.0)
    message = str(caught.value)
    assert "\n" not in message
    assert f"cannot reach NATS at {url}" in message
    assert "start it" in message
    # Refused connections are reported as such, not as a timeout of the whole connect.
    assert "did not answer" not in message
