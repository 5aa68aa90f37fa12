"""What every Spark route shares: the ingress's parts, and a `Gate` that reads or refuses a signal.

A refusal is recorded in the audit stream (awaited) before its problem is raised, so
no 4xx leaves the hub that an auditor cannot find.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, ParamSpec, TypeVar

import structlog
from eventsourcing.persistence import IntegrityError
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from hub.audit import record_rejection, request_evidence
from hub.bootstrap import Runtime
from hub.domain.base import TENANT_SLUG, EventContext, event_context
from hub.domain.spark import SparkConnection
from hub.http.problems import CONCURRENT_CHANGE, SIGNAL_REJECTIONS, ProblemError
from hub.ops.metrics import count_verdict
from hub.spark.carriers import HttpCarrier, SignalCarrier
from hub.spark.connection import OpenedSecrets, cache_for, open_secrets, spark_connection
from hub.spark.evidence import MAX_FILE_BYTES
from hub.spark.ratelimit import Decision, SlidingWindowLimiter
from hub.spark.sessions import SessionSigner, session_key
from hub.spark.verify import (
    RETIRED_NOTE,
    SignalRejectedError,
    signed_with_retired,
    verify_webhook_signature,
)
from infra.blobs import BlobStore, FolderBlobStore
from infra.nats_client import NatsConnection

MAX_BODY_BYTES = 10 * 1024 * 1024
SIGNATURE_HEADER = "X-Spark-Signature"
TENANT_HEADER = "X-Hub-Tenant"
P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
log = structlog.get_logger("hub.spark")
_CHALLENGES = {
    "sso": 'Spark-SSO realm="spark"',
    "submission": f'HMAC-SHA256 realm="spark-webhook", header="{SIGNATURE_HEADER}"',
    "roster": f'HMAC-SHA256 realm="spark-webhook", header="{SIGNATURE_HEADER}"',
}


@dataclass(frozen=True)
class IngressLimits:
    max_body_bytes: int = MAX_BODY_BYTES
    max_file_bytes: int = MAX_FILE_BYTES


@dataclass
class SparkIngress:
    """The Spark ingress's parts, built once per HTTP app (`app.state.spark`)."""

    runtime: Runtime
    signer: SessionSigner
    blobs: BlobStore
    limiter: SlidingWindowLimiter = field(default_factory=SlidingWindowLimiter)
    limits: IngressLimits = field(default_factory=IngressLimits)

    @property
    def nats(self) -> NatsConnection:
        """The process's connection to the event store's server (the recorders' one)."""
        settings = self.runtime.settings
        return NatsConnection.shared(self.runtime.nats_url, timeout=settings.nats_timeout_s)


def build_ingress(runtime: Runtime, *, limits: IngressLimits | None = None) -> SparkIngress:
    """The ingress's parts on `runtime` (blobs under its data folder)."""
    return SparkIngress(
        runtime=runtime,
        signer=SessionSigner(session_key(runtime.settings)),
        blobs=FolderBlobStore(runtime.settings.data_dir / "blobs"),
        limits=limits or IngressLimits(),
    )


def spark_ingress(request: Request) -> SparkIngress:
    ingress: SparkIngress = request.app.state.spark
    return ingress


@dataclass(frozen=True)
class SignedBody:
    """A webhook body whose signature matched one of the tenant's secrets."""

    tenant: str
    connection: SparkConnection
    body: bytes
    secret_index: int
    limit: Decision


class Gate:
    """One signal on its way in: the tenant it names, what was read of it, how to refuse it.

    Transport-neutral: `carrier` is the HTTP request or the NATS message it came in.
    """

    def __init__(
        self, carrier: SignalCarrier, ingress: SparkIngress, kind: str, *, token: str | None = None
    ) -> None:
        self.carrier = carrier
        self.ingress = ingress
        self.kind = kind
        self.token = token
        self.tenant: str | None = None  # set once the tenant is known to exist
        self.claimed: str | None = None
        self.body: bytes | None = None
        self.received_at = datetime.now(UTC).isoformat()

    @classmethod
    def of(cls, request: Request, kind: str, *, token: str | None = None) -> Gate:
        """The gate of an HTTP request (the ingress is the app's)."""
        return cls(HttpCarrier(request), spark_ingress(request), kind, token=token)

    @property
    def request_id(self) -> str:
        return self.carrier.request_id

    async def reject(
        self,
        reason: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        seen: dict[str, Any] | None = None,
        **extensions: Any,
    ) -> NoReturn:
        """Record the rejection in the audit stream, then answer with its problem.

        `seen` adds to the evidence; `extensions` go into the problem's body.
        """
        evidence = request_evidence(
            request_id=self.request_id,
            body=self.body,
            token_value=self.token,
            claimed_tenant=(self.claimed or "")[:100] or None,
            **self.carrier.evidence(),
            **(seen or {}),
        )
        await record_rejection(
            self.ingress.nats,
            self.ingress.runtime.settings.stream_prefix,
            self.tenant,
            self.kind,
            reason,
            detail,
            evidence,
        )
        log.warning("spark.rejected", kind=self.kind, reason=reason, tenant_id=self.tenant)
        challenge = _CHALLENGES.get(self.kind)
        extra = dict(headers or {})
        if SIGNAL_REJECTIONS[reason].status == 401 and challenge:
            extra["WWW-Authenticate"] = challenge
        raise ProblemError(
            SIGNAL_REJECTIONS[reason], detail, headers=extra, reason=reason, **extensions
        )

    async def connection(self, *names: str | None) -> SparkConnection:
        """The Spark connection of the tenant named (path, query or header: they must agree)."""
        given = {name for name in names if name}
        if len(given) > 1:
            self.claimed = ",".join(sorted(given))
            await self.reject(
                "tenant_conflict",
                "the tenant is named twice, differently; "
                "name it once (path, ?tenant= or X-Hub-Tenant)",
            )
        if not given:
            await self.reject(
                "tenant_missing",
                f"name the tenant: /t/{{tenant}}/spark/..., ?tenant= or the {TENANT_HEADER} header",
            )
        slug = given.pop()
        self.claimed = slug
        if not TENANT_SLUG.match(slug):
            await self.reject(
                "unknown_tenant",
                "no such tenant (a tenant is 1-40 lowercase letters, digits or '-')",
            )
        hub = self.ingress.runtime.hub
        hit, found = cache_for(hub).cached(slug)
        if not hit:  # read the log off the event loop, once per cache period
            found = await run_in_threadpool(spark_connection, hub, slug)
        if found is None:
            if await run_in_threadpool(hub.tenant, slug) is None:
                await self.reject("unknown_tenant", f"no tenant {slug!r} is registered")
            self.tenant = slug
            self.carrier.bind_tenant(slug)
            await self.reject(
                "spark_not_connected",
                f"tenant {slug!r} is not connected to Spark; an admin connects "
                "it with `hub spark connect`",
            )
        self.tenant = slug
        self.carrier.bind_tenant(slug)
        return found

    async def reject_signature(
        self, error: SignalRejectedError, retired: bool, headers: dict[str, str] | None = None
    ) -> NoReturn:
        """A signature refusal, saying so when a retired secret signed it."""
        if not retired:
            await self.reject(error.reason, error.detail, headers=headers)
        await self.reject(
            error.reason,
            error.detail + RETIRED_NOTE,
            headers=headers,
            seen={"retired_secret": True},
        )

    def secrets(self, connection: SparkConnection) -> OpenedSecrets:
        return open_secrets(connection, self.ingress.runtime.box)

    async def read_body(self, limit: int) -> bytes:
        """The raw body, refused (413) as soon as it passes `limit`: never read beyond it."""
        declared = self.carrier.declared_length() or ""
        too_large = f"the body is larger than {limit} bytes"
        if declared.isdigit() and int(declared) > limit:
            await self.reject("body_too_large", too_large, max_bytes=limit, seen={"read": 0})
        chunks = bytearray()
        async for chunk in self.carrier.chunks():
            chunks += chunk
            if len(chunks) > limit:
                await self.reject(
                    "body_too_large", too_large, max_bytes=limit, seen={"read": len(chunks)}
                )
        self.body = bytes(chunks)
        return self.body

    async def signed_body(self, *names: str | None) -> SignedBody:
        """Tenant, rate limit, body within limits, and a signature that matches it."""
        connection = await self.connection(*names)
        assert self.tenant is not None
        limit = self.ingress.limiter.hit(
            (self.tenant, "spark"), connection.webhook_limit_per_minute
        )
        if not limit.allowed:
            await self.reject(
                "rate_limited",
                f"more than {limit.limit} webhook requests in a minute; retry "
                f"after {limit.retry_after_s} s",
                headers=limit.headers(),
            )
        body = await self.read_body(self.ingress.limits.max_body_bytes)
        opened, signature = self.secrets(connection), self.carrier.header(SIGNATURE_HEADER)
        try:
            index = verify_webhook_signature(body, signature, opened.webhook)
        except SignalRejectedError as error:
            retired = signed_with_retired(
                error, lambda: verify_webhook_signature(body, signature, opened.expired_webhook)
            )
            await self.reject_signature(error, retired, headers=limit.headers())
        return SignedBody(self.tenant, connection, body, index, limit)

    async def parse(self, model: type[M], body: bytes) -> M:
        """The body as `model`: 400 for JSON that is not, 422 listing the fields to fix."""
        try:
            return model.model_validate_json(body)
        except ValidationError as error:
            items = error.errors(include_input=False, include_url=False)
            if any(item["type"] == "json_invalid" for item in items):
                await self.reject("malformed_json", "the body is not valid JSON")
            errors = [
                {
                    "field": ".".join(str(p) for p in item["loc"]) or "(body)",
                    "message": item["msg"],
                    "code": item["type"],
                }
                for item in items
            ]
            missing = any(item["type"] == "missing" for item in items)
            fields = ", ".join(e["field"] for e in errors)
            await self.reject(
                "missing_fields" if missing else "invalid_fields",
                f"fix these fields: {fields}",
                errors=errors,
            )

    def verified(self, signed: SignedBody) -> dict[str, Any]:
        """How the body was checked, for the event (an auditor can check it again)."""
        return {
            "signature_scheme": "hmac-sha256",
            "secret_index": signed.secret_index,
            "signature_header": SIGNATURE_HEADER,
            "body_sha256": hashlib.sha256(signed.body).hexdigest(),
            "body_size": len(signed.body),
            "received_at": self.received_at,
            "request_id": self.request_id,
            "transport": self.carrier.transport,
        }

    def _context(self, verified_by: str) -> EventContext:
        return EventContext(
            correlation_id=self.carrier.correlation_id,
            causation_id=self.carrier.request_id,
            source="spark",
            verified_by=verified_by,
        )

    async def run(
        self, verified_by: str, command: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a blocking command off the event loop; its events carry this request's ids.

        Commands retry their own conflicts; one that persists is a 409 (nothing was written).
        """
        context = self._context(verified_by)

        def call() -> T:
            with event_context(context):
                return command(*args, **kwargs)

        with _conflict_is_409():
            done = await run_in_threadpool(call)
        count_verdict(self.kind, "accepted", verified_by)
        return done

    async def run_async(
        self,
        verified_by: str,
        command: Callable[P, Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """`run` for a command that awaits its commit on the loop (the hot paths)."""
        with event_context(self._context(verified_by)), _conflict_is_409():
            done = await command(*args, **kwargs)
        count_verdict(self.kind, "accepted", verified_by)
        return done


@contextmanager
def _conflict_is_409() -> Iterator[None]:
    try:
        yield
    except IntegrityError as error:  # still conflicting after the handler's retries
        detail = "other requests changed the same records at this moment; send it again"
        raise ProblemError(CONCURRENT_CHANGE, detail, headers={"Retry-After": "1"}) from error


def now_s() -> int:
    return int(time.time())
