"""Rate limits on every public endpoint: a pure ASGI middleware with `RateLimit-*` headers.

Each request is counted against one key: its API client (from a valid bearer access
token) and that client's tenant, else the tenant the request names (`/t/{tenant}`,
`/api/v1/tenants/{tenant}`, `/api/v1/admin/tenants/{slug}`, `?tenant=`, `X-Hub-Tenant`),
else the remote address. A tenant that is not registered counts as its caller's address,
so made-up tenants make no windows. Every answer carries `RateLimit-Limit`,
`RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy`; over the limit the
answer is a 429 problem with `Retry-After`, and the app is not called. The probes are
exempt. The partners' own limits (Spark, LTI) still apply inside their routes, and a
response that carries their `RateLimit-*` headers keeps those alone.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import structlog
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.scopes import ACCESS_STATE_KEY
from hub.domain.base import TENANT_SLUG
from hub.http.middleware import CORRELATION_ID_HEADER, REQUEST_ID_HEADER, new_id, sane_id
from hub.http.oauth import TokenError
from hub.http.problems import SIGNAL_REJECTIONS, problem_response
from hub.http.ratelimit import Decision, SlidingWindowLimiter

if TYPE_CHECKING:
    from hub.api.clients import Access, ApiTokens
    from hub.api.limits import LimitsCache, TenantLimits

EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
_TENANT_PATH = re.compile(r"^/(?:t|api/v1/tenants|api/v1/admin/tenants)/([^/]+)")
RATE_LIMITED = SIGNAL_REJECTIONS["rate_limited"]
log = structlog.get_logger("hub.http")


def tenant_named(scope: Scope) -> str | None:
    """The tenant a request names by its path, its query or its `X-Hub-Tenant` header."""
    found = _TENANT_PATH.match(scope["path"])
    if found:
        return found.group(1)
    query: bytes = scope.get("query_string", b"")
    if b"tenant=" in query:
        values = parse_qs(query.decode("latin-1")).get("tenant")
        if values:
            return values[0]
    for name, value in scope["headers"]:
        if name == b"x-hub-tenant":
            return str(value.decode("latin-1"))
    return None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


def with_policy(decision: Decision) -> dict[str, str]:
    headers = decision.headers()
    headers["RateLimit-Policy"] = f"{decision.limit};w=60"
    return headers


class ApiRateLimitMiddleware:
    """Counts each request against its client, tenant or address; adds the headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: LimitsCache,
        tokens: ApiTokens | None,
        address_per_minute: int,
        windows: SlidingWindowLimiter | None = None,
    ) -> None:
        self.app = app
        self.limits = limits
        self.tokens = tokens
        self.address_per_minute = address_per_minute
        self.windows = windows or SlidingWindowLimiter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:
            await self.app(scope, receive, send)
            return
        decision = await self.decide(scope)
        headers = with_policy(decision)
        if not decision.allowed:
            detail = (
                f"more than {decision.limit} requests a minute;"
                f" try again in {decision.retry_after_s} s"
            )
            await self._refuse(scope, receive, send, detail, headers)
            return

        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = message.get("headers", ())
                # A partner limit inside the route (Spark, LTI) answers with its own
                # headers: the narrower window speaks, not both.
                if not any(name == b"ratelimit-limit" for name, _ in present):
                    message["headers"] = [*present, *raw]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, detail: str, headers: dict[str, str]
    ) -> None:
        """The 429, answered before the request context middleware runs: it gets request
        and correlation ids (header and body) and a request line of its own, as any answer
        does, so a refused caller can quote it and an operator can find it."""
        asked = Headers(scope=scope)
        request_id = sane_id(asked.get(REQUEST_ID_HEADER)) or new_id()
        correlation_id = sane_id(asked.get(CORRELATION_ID_HEADER)) or request_id
        ids = {REQUEST_ID_HEADER: request_id, CORRELATION_ID_HEADER: correlation_id}
        refusal = problem_response(
            RATE_LIMITED,
            detail,
            instance=scope["path"],
            request_id=request_id,
            headers={**headers, **ids},
        )
        log.info(
            "http.request",
            method=scope["method"],
            path=scope["path"],
            status=RATE_LIMITED.status,
            reason="rate_limited",
            request_id=request_id,
            correlation_id=correlation_id,
        )
        await refusal(scope, receive, send)

    def _access(self, scope: Scope) -> Access | None:
        token = _bearer(scope) if self.tokens is not None else None
        if token is None or self.tokens is None:
            return None
        try:
            access = self.tokens.read(token, int(time.time()))
        except TokenError:
            return None  # the admin token, or a bad one (the route answers 401)
        scope.setdefault("state", {})[ACCESS_STATE_KEY] = access
        return access

    async def _tenant_limits(self, tenant: str | None) -> TenantLimits | None:
        if tenant is None or not TENANT_SLUG.match(tenant):
            return None
        cached = self.limits.cached(tenant)
        if cached is None:
            return await run_in_threadpool(self.limits.load, tenant)
        return cached[0]

    async def decide(self, scope: Scope) -> Decision:
        """Count the request against its key(s): the tightest answer wins."""
        access = self._access(scope)
        tenant = access.tenant if access is not None else tenant_named(scope)
        limits = await self._tenant_limits(tenant)
        if limits is None or tenant is None:
            client = scope.get("client")
            address = client[0] if client else "unknown"
            return self.windows.hit(("address", address), self.address_per_minute)
        decision = self.windows.hit(("tenant", tenant), limits.tenant_per_minute)
        if not decision.allowed or access is None:
            return decision
        by_client = self.windows.hit(("client", access.client_id), limits.client_per_minute)
        return by_client if by_client.remaining <= decision.remaining else decision
