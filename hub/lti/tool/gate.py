"""What every LTI tool route shares: its parts on the app, and a `Gate` that refuses a request.

A refusal is recorded in the audit stream (awaited) before its problem is raised: every
launch verdict is on record, the rejected ones here, the accepted ones as events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, ParamSpec, TypeVar

import structlog
from eventsourcing.persistence import IntegrityError
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from hub.audit import record_rejection, request_evidence
from hub.bootstrap import Runtime
from hub.domain.base import EventContext, event_context
from hub.http.middleware import bind_tenant
from hub.http.problems import CONCURRENT_CHANGE, ProblemError
from hub.lti.keys import LtiKeys
from hub.lti.limits import count, refusal_detail
from hub.lti.tool.catalogue import Catalogue
from hub.lti.tool.jwks import JwksCache
from hub.lti.tool.problems import LTI_TOOL_REJECTIONS
from hub.lti.tool.verify import LaunchRejectedError
from hub.spark.sessions import SessionSigner
from infra.nats_client import NatsConnection

P = ParamSpec("P")
T = TypeVar("T")
log = structlog.get_logger("hub.lti.tool")


@dataclass
class LtiTool:
    """The tool's parts, built once per HTTP app (`app.state.lti_tool`)."""

    runtime: Runtime
    signer: SessionSigner
    ticket_key: bytes  # signs the deep linking page's ticket
    keys: LtiKeys
    jwks: JwksCache
    catalogue: Catalogue

    @property
    def nats(self) -> NatsConnection:
        settings = self.runtime.settings
        return NatsConnection.shared(self.runtime.nats_url, timeout=settings.nats_timeout_s)


class Gate:
    """One request to the tool: what is known of it so far, how to refuse it."""

    def __init__(self, request: Request, kind: str) -> None:
        self.request = request
        self.tool: LtiTool = request.app.state.lti_tool
        self.kind = kind
        self.tenant: str | None = None  # set once the tenant is known to exist
        self.seen: dict[str, Any] = {}
        self.token: str | None = None

    def known_tenant(self, tenant: str) -> None:
        self.tenant = tenant
        bind_tenant(self.request, tenant)

    async def limit(self, tenant: str, endpoint: str, client_id: str) -> None:
        """Count this request against the tenant's and the platform registration's limits."""
        decision = await count(self.tool.runtime.hub, tenant, endpoint, client_id)
        if not decision.allowed:
            await self.reject(
                "rate_limited", refusal_detail(decision, endpoint), headers=decision.headers()
            )

    async def reject(
        self,
        reason: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> NoReturn:
        request = self.request
        evidence = request_evidence(
            request_id=str(request.state.request_id),
            remote_addr=request.client.host if request.client else None,
            method=request.method,
            path=request.url.path,
            token_value=self.token,
            user_agent=(request.headers.get("user-agent") or "")[:200] or None,
            **self.seen,
        )
        await record_rejection(
            self.tool.nats,
            self.tool.runtime.settings.stream_prefix,
            self.tenant,
            self.kind,
            reason,
            detail,
            evidence,
        )
        log.warning("lti_tool.rejected", kind=self.kind, reason=reason, tenant_id=self.tenant)
        raise ProblemError(
            LTI_TOOL_REJECTIONS[reason], detail, headers=headers, reason=reason, **extensions
        )

    async def refuse(self, error: LaunchRejectedError) -> NoReturn:
        await self.reject(error.reason, error.detail)

    async def run(self, command: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking command off the event loop; its events carry this request's ids."""
        state = self.request.state
        context = EventContext(
            correlation_id=state.correlation_id,
            causation_id=state.request_id,
            source="lti",
            verified_by="jwt-rs256",
        )

        def call() -> T:
            with event_context(context):
                return command(*args, **kwargs)

        try:
            return await run_in_threadpool(call)
        except IntegrityError as error:  # still conflicting after the command's retries
            detail = "other requests changed the same records at this moment; send it again"
            raise ProblemError(CONCURRENT_CHANGE, detail, headers={"Retry-After": "1"}) from error
