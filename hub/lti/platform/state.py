"""The platform's parts, built once per HTTP app (`app.state.lti_platform`), and its gate.

`LtiGate.reject` records a refusal in the audit stream (awaited) before its problem is
raised: every launch verdict is on record, the accepted ones as `LtiLaunch.Accepted`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NoReturn, ParamSpec, TypeVar
from urllib.parse import parse_qsl

import structlog
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hub.audit import record_rejection, request_evidence
from hub.bootstrap import Runtime
from hub.domain.base import TENANT_SLUG, EventContext, event_context
from hub.http.middleware import bind_tenant
from hub.http.problems import ProblemError, ProblemType
from hub.lti.keys import LtiKeys
from hub.lti.limits import count, refusal_detail
from hub.lti.platform.errors import LtiRejectedError, oauth_error, problem_of, reasons
from hub.lti.platform.readers import MembersOf, ResultsOf
from hub.lti.platform.reads import RecentReads
from hub.lti.platform.tool_keys import ToolKeyCache
from hub.lti.platform.urls import PlatformUrls
from hub.spark.sessions import SessionSigner
from infra.nats_client import NatsConnection

P = ParamSpec("P")
T = TypeVar("T")
log = structlog.get_logger("hub.lti.platform")
MAX_FORM_BYTES = 64 * 1024
LTI_REJECTIONS = {reason: ProblemType(*problem_of(reason)) for reason in reasons()}


@dataclass
class LtiPlatform:
    runtime: Runtime
    keys: LtiKeys
    signer: SessionSigner
    tool_keys: ToolKeyCache
    reads: RecentReads
    members: MembersOf | None = None
    results: ResultsOf | None = None
    on_close: list[Callable[[], None]] = field(default_factory=list)

    @property
    def nats(self) -> NatsConnection:
        settings = self.runtime.settings
        return NatsConnection.shared(self.runtime.nats_url, timeout=settings.nats_timeout_s)

    def close(self) -> None:
        for close in self.on_close:
            close()
        self.on_close.clear()


def lti_platform(request: Request) -> LtiPlatform:
    platform: LtiPlatform = request.app.state.lti_platform
    return platform


def now_s() -> int:
    return int(time.time())


class LtiGate:
    """One request to the platform: its tenant, and how it is refused or recorded."""

    def __init__(self, request: Request, tenant: str, kind: str) -> None:
        self.request = request
        self.platform = lti_platform(request)
        self.kind = kind
        self.tenant: str | None = None
        self.claimed = tenant
        self.token: str | None = None
        self.seen: dict[str, Any] = {}

    @cached_property
    def urls(self) -> PlatformUrls:
        """Built when asked (a score POST never does: building the base URL is not free)."""
        return PlatformUrls.of(self.request, self.claimed)

    async def check_tenant(self) -> str:
        tenant = self.claimed
        reads = self.platform.reads
        known = reads.knows(tenant)  # a tenant once seen needs no read, nor a thread hop
        if not known and (
            not TENANT_SLUG.match(tenant)
            or not await run_in_threadpool(reads.tenant_exists, tenant)
        ):
            await self.reject("tenant_unknown", f"no tenant {tenant[:40]!r}")
        self.tenant = tenant
        bind_tenant(self.request, tenant)
        return tenant

    async def refuse(self, error: LtiRejectedError) -> NoReturn:
        await self.reject(error.reason, error.detail)

    async def limit(self, endpoint: str, client_id: str | None = None) -> None:
        """Count this request against the tenant's (and the client's) limit; refuse it past."""
        assert self.tenant is not None, "check_tenant first"
        decision = await count(self.platform.runtime.hub, self.tenant, endpoint, client_id)
        if not decision.allowed:
            await self.reject(
                "rate_limited", refusal_detail(decision, endpoint), headers=decision.headers()
            )

    async def reject(
        self, reason: str, detail: str, *, headers: dict[str, str] | None = None
    ) -> NoReturn:
        request = self.request
        evidence = request_evidence(
            request_id=str(getattr(request.state, "request_id", "")) or None,
            remote_addr=request.client.host if request.client else None,
            method=request.method,
            path=request.url.path,
            token_value=self.token,
            claimed_tenant=self.claimed[:100],
            user_agent=(request.headers.get("user-agent") or "")[:200] or None,
            **self.seen,
        )
        await record_rejection(
            self.platform.nats,
            self.platform.runtime.settings.stream_prefix,
            self.tenant,
            self.kind,
            reason,
            detail,
            evidence,
        )
        log.warning("lti.rejected", kind=self.kind, reason=reason, tenant_id=self.tenant)
        kind = LTI_REJECTIONS[reason]
        extensions: dict[str, Any] = {"reason": reason}
        headers = dict(headers or {})
        if code := oauth_error(reason):
            extensions["error"] = code
            if kind.status in {401, 403} and self.kind in {"lti_ags", "lti_nrps"}:
                headers["WWW-Authenticate"] = f'Bearer realm="lti", error="{code}"'
        raise ProblemError(kind, detail, headers=headers, **extensions)

    def _context(self, verified_by: str) -> EventContext:
        request_id = str(getattr(self.request.state, "request_id", "")) or "lti"
        return EventContext(
            correlation_id=request_id,
            causation_id=request_id,
            source="lti",
            verified_by=verified_by,
        )

    async def run(
        self, verified_by: str, handler: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a command handler off the event loop, its events carrying this request's context."""
        context = self._context(verified_by)

        def call() -> T:
            with event_context(context):
                return handler(*args, **kwargs)

        try:
            return await run_in_threadpool(call)
        except LtiRejectedError as error:
            await self.refuse(error)

    async def run_async(
        self,
        verified_by: str,
        handler: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`run` for a handler that awaits its commit on the loop (the score POST)."""
        try:
            with event_context(self._context(verified_by)):
                return await handler(*args, **kwargs)
        except LtiRejectedError as error:
            await self.refuse(error)


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what OAuth and OIDC form posts send),
    read without python-multipart; a field sent twice keeps its first value."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return {}
    fields: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields
