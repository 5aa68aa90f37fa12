"""A signal that came as a JetStream message: what the Spark `Gate` needs of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import structlog
from nats.aio.msg import Msg

from hub.http.middleware import CORRELATION_ID_HEADER, REQUEST_ID_HEADER, sane_id


class NatsCarrier:
    """The message's headers and body; its ids from `X-Request-ID` or its stream sequence."""

    transport = "nats"

    def __init__(self, msg: Msg, *, sequence: int, delivered: int) -> None:
        self.msg = msg
        self.sequence = sequence
        self.delivered = delivered
        headers = msg.headers or {}
        self._headers = {name.lower(): value for name, value in headers.items()}
        self._request_id = sane_id(self.header(REQUEST_ID_HEADER)) or f"nats-{sequence}"
        self._correlation_id = sane_id(self.header(CORRELATION_ID_HEADER)) or self._request_id

    @property
    def request_id(self) -> str:
        return self._request_id

    @property
    def correlation_id(self) -> str:
        return self._correlation_id

    def header(self, name: str) -> str | None:
        return self._headers.get(name.lower())

    def declared_length(self) -> str | None:
        return str(len(self.msg.data))

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self.msg.data

    def evidence(self) -> dict[str, Any]:
        return {
            "remote_addr": None,
            "method": "NATS",
            "path": self.msg.subject,
            "content_length": str(len(self.msg.data)),
            "user_agent": None,
            "stream_sequence": self.sequence,
            "delivered": self.delivered,
        }

    def bind_tenant(self, slug: str) -> None:
        structlog.contextvars.bind_contextvars(tenant_id=slug)
