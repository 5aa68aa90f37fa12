"""What carried a signal in (an HTTP request, a NATS message): the little the `Gate` needs of it.

The gate verifies and decides the same way whatever the transport; a carrier only says
which ids the signal has, reads its headers and body, and what an auditor may see of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from fastapi import Request

from hub.http.middleware import bind_tenant


class SignalCarrier(Protocol):
    """How a signal arrived; the `Gate` asks it, never the transport."""

    transport: str  # "http" or "nats", kept in the event's `verified`

    @property
    def request_id(self) -> str:
        """This delivery's id (the HTTP request id, the NATS message's stream sequence)."""
        ...

    @property
    def correlation_id(self) -> str: ...

    def header(self, name: str) -> str | None: ...

    def declared_length(self) -> str | None:
        """The body's size as the sender declared it, before reading it (or None)."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The body, in pieces, so that reading stops as soon as it is too large."""
        ...

    def evidence(self) -> dict[str, Any]:
        """Where from and how, for the audit record (`request_evidence`'s fields)."""
        ...

    def bind_tenant(self, slug: str) -> None:
        """The tenant is known: log lines say so from here on."""
        ...


class HttpCarrier:
    """A signal that came as an HTTP request (ids from `RequestContextMiddleware`)."""

    transport = "http"

    def __init__(self, request: Request) -> None:
        self.request = request

    @property
    def request_id(self) -> str:
        return str(self.request.state.request_id)

    @property
    def correlation_id(self) -> str:
        return str(self.request.state.correlation_id)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def declared_length(self) -> str | None:
        return self.request.headers.get("content-length")

    def chunks(self) -> AsyncIterator[bytes]:
        return self.request.stream()

    def evidence(self) -> dict[str, Any]:
        request = self.request
        return {
            "remote_addr": request.client.host if request.client else None,
            "method": request.method,
            "path": request.url.path,
            "content_length": request.headers.get("content-length"),
            "user_agent": (request.headers.get("user-agent") or "")[:200] or None,
        }

    def bind_tenant(self, slug: str) -> None:
        bind_tenant(self.request, slug)
