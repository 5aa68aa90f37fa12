"""The hub's HTTP/1.1 protocol for uvicorn: httptools, a response's head and body in one write.

`HubHttpProtocol` (pass as uvicorn's `http`) is uvicorn's httptools server (the C
parser: the pure-Python h11 cost a fifth of a bare request's CPU here) writing through
a coalescing transport; `CoalescingH11Protocol` is the same on h11, kept for comparison
in the benches.

uvicorn writes a response's status line and headers as soon as the app sends
`http.response.start`, then its body in a second `transport.write`: two `send` system
calls for every response with a body. On loopback the kernel does the receiver's TCP
work inside that call, charged to the server, so the second call cost more than the
webhook's own Python. Here the protocol's transport holds what is written until the
end of the event loop's current step: a head and a body sent in the same step (every
`Response`, JSON or not) leave in one `send`; a streaming response's chunks still leave
the step they were written in. Nothing else changes: order, flow control and closing
are the transport's own (a close sends what is held first).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _StepCoalescingTransport:
    """A transport whose writes within one loop step leave together, at the step's end."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            if not self._transport.is_closing():
                self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:  # the rest is the transport's own
        return getattr(self._transport, name)


class CoalescingH11Protocol(H11Protocol):
    """`H11Protocol` writing through a `_StepCoalescingTransport` (pass as uvicorn's `http`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _StepCoalescingTransport(transport, self.loop)  # type: ignore[assignment]


class HubHttpProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` writing through a `_StepCoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _StepCoalescingTransport(transport, self.loop)  # type: ignore[assignment]
