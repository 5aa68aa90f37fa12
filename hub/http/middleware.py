"""Per-request context: request and correlation ids, one canonical log line, the last-resort 500.

A pure ASGI middleware rather than Starlette's `BaseHTTPMiddleware`: the endpoint runs
in the same task, so what a route binds (the tenant) is visible here afterwards, and
streaming responses pass through untouched.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.http.problems import internal_error_response

REQUEST_ID_HEADER = "X-Request-ID"
CORRELATION_ID_HEADER = "X-Correlation-ID"
# An incoming id is echoed into headers and logs: only short, plain tokens are accepted.
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
log = structlog.get_logger("hub.http")


def sane_id(value: str | None) -> str | None:
    return value if value is not None and _SANE_ID.match(value) else None


def new_id() -> str:
    return uuid.uuid4().hex


def bind_tenant(request: Request, tenant_id: str) -> None:
    """Say which tenant this request is about: it goes on every log line, the canonical one too."""
    request.state.tenant_id = tenant_id
    structlog.contextvars.bind_contextvars(tenant_id=tenant_id)


def _state(scope: Scope) -> MutableMapping[str, Any]:
    state: MutableMapping[str, Any] = scope.setdefault("state", {})
    return state


class RequestContextMiddleware:
    """Binds and echoes the ids, logs `http.request` once, turns a crash into a 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        request_id = sane_id(request.headers.get(REQUEST_ID_HEADER)) or new_id()
        correlation_id = sane_id(request.headers.get(CORRELATION_ID_HEADER)) or request_id
        state = _state(scope)
        state["request_id"], state["correlation_id"] = request_id, correlation_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 500
        response_started = logged = False

        def log_once() -> None:
            nonlocal logged
            if not logged:
                logged = True
                self._log_request(request, state, status, started)

        async def send_with_ids(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                headers[CORRELATION_ID_HEADER] = correlation_id
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                log_once()  # before the last byte leaves, so a client never outruns its line
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        except Exception:
            log.exception("http.unhandled_error", method=request.method, path=request.url.path)
            if response_started:
                raise  # too late for a problem: let the server drop the connection
            await internal_error_response(request.url.path, request_id)(
                scope, receive, send_with_ids
            )
        finally:
            log_once()

    @staticmethod
    def _log_request(
        request: Request, state: MutableMapping[str, Any], status: int, started: float
    ) -> None:
        """The canonical line. The path only: a query string may carry a token."""
        fields: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "request_id": state["request_id"],
            "correlation_id": state["correlation_id"],
        }
        route = request.scope.get("route")
        if route is not None and hasattr(route, "path"):
            fields["route"] = route.path
        if "tenant_id" in state:
            fields["tenant_id"] = state["tenant_id"]
        if status >= 500:
            log.error("http.request", **fields)
        else:
            log.info("http.request", **fields)
