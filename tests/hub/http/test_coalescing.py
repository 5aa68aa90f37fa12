"""The coalescing protocols (httptools, as `hub serve` runs, and h11): head and body leave in
one write, the rest as before."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse, StreamingResponse

from hub.http.coalescing import CoalescingH11Protocol, HubHttpProtocol, _StepCoalescingTransport
from tests.hub.http.live_server import live_server


async def _pair() -> tuple[asyncio.Transport, list[bytes], socket.socket]:
    """A real socket transport whose writes are recorded, and the peer's socket."""
    ours, peer = socket.socketpair()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    writes: list[bytes] = []
    real_write = transport.write

    def write(data: bytes) -> None:
        writes.append(bytes(data))
        real_write(data)

    transport.write = write  # type: ignore[method-assign]
    return transport, writes, peer


def _read_all(peer: socket.socket) -> bytes:
    peer.settimeout(5)
    received = b""
    while chunk := peer.recv(65536):
        received += chunk
    return received


def test_writes_of_one_step_leave_together_and_later_ones_on_their_own() -> None:
    async def scenario() -> tuple[list[bytes], bytes]:
        transport, writes, peer = await _pair()
        coalescing = _StepCoalescingTransport(transport, asyncio.get_running_loop())
        coalescing.write(b"HTTP/1.1 200 OK\r\n\r\n")
        coalescing.write(b"")
        coalescing.write(b"first")
        await asyncio.sleep(0)  # the step ends: what it wrote leaves
        await asyncio.sleep(0)
        coalescing.write(b"second")
        coalescing.close()  # held bytes leave before the close
        await asyncio.sleep(0.01)
        received = await asyncio.to_thread(_read_all, peer)
        peer.close()
        return writes, received

    writes, received = asyncio.run(scenario())
    assert writes == [b"HTTP/1.1 200 OK\r\n\r\nfirst", b"second"]
    assert received == b"HTTP/1.1 200 OK\r\n\r\nfirstsecond"


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/json", status_code=202)
    async def json_body() -> JSONResponse:
        return JSONResponse({"submission_id": "s-1", "position": 7}, status_code=202)

    @app.post("/empty", status_code=202)
    async def empty() -> Response:
        return Response(status_code=202)

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for n in range(3):
                await asyncio.sleep(0.01)
                yield f"chunk {n}\n".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    return app


@pytest.mark.parametrize("protocol", [HubHttpProtocol, CoalescingH11Protocol])
def test_the_server_answers_json_empty_and_streamed_responses_on_one_connection(
    protocol: type,
) -> None:
    with (
        live_server(_app(), http=protocol) as url,
        httpx.Client(base_url=url, timeout=10) as client,
    ):
        for _ in range(3):  # keep-alive: each response is framed right after the previous one
            answer = client.post("/json")
            assert (answer.status_code, answer.json()) == (
                202,
                {"submission_id": "s-1", "position": 7},
            )
            empty = client.post("/empty")
            assert (empty.status_code, empty.content) == (202, b"")
            streamed = client.get("/stream")
            assert streamed.text == "chunk 0\nchunk 1\nchunk 2\n"
