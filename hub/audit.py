"""Rejected signals, recorded in the audit stream before the partner hears the 4xx.

One message per rejection on `<prefix>.audit.<tenant or _unknown>.<kind>`, in a stream
of its own (bounded by age and size), so that an attack cannot grow the event log. The
body says why (a stable reason code) and what was received, as hashes and sizes: a
secret, a token or a body is never stored, only its SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.ops.metrics import count_verdict
from infra.jetstream.factory import wire_for
from infra.jetstream.subjects import token
from infra.jetstream.wire import OutMsg
from infra.nats_client import NatsConnection

UNKNOWN_TENANT = "_unknown"
PAGE = 1000
INTERNAL_SOURCES = frozenset({"", "hub"})
INTERNAL_VERIFICATIONS = frozenset({"none", "process"})
FAMILY_SEPARATORS = (":", "-", "_")


@dataclass(frozen=True)
class Rejection:
    """A recorded rejection, as `rejections` reads it back."""

    position: int
    tenant: str
    kind: str
    reason: str
    detail: str
    received_at: str
    evidence: dict[str, Any]


def sha256_hex(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def request_evidence(
    *,
    request_id: str | None,
    remote_addr: str | None,
    method: str,
    path: str,
    body: bytes | None = None,
    token_value: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What an auditor may see of a request: ids, where from, and hashes in place of content."""
    evidence: dict[str, Any] = {
        "request_id": request_id,
        "remote_addr": remote_addr,
        "method": method,
        "path": path,
        **extra,
    }
    if body is not None:
        evidence["body_sha256"] = sha256_hex(body)
        evidence["body_size"] = len(body)
    if token_value is not None:
        evidence["token_sha256"] = sha256_hex(token_value)
    return evidence


def audit_subject(prefix: str, tenant: str | None, kind: str) -> str:
    return f"{prefix}.audit.{token(tenant) if tenant else UNKNOWN_TENANT}.{token(kind)}"


def _message(
    prefix: str,
    tenant: str | None,
    kind: str,
    *,
    reason: str,
    detail: str,
    evidence: Mapping[str, Any],
) -> OutMsg:
    body = {
        "tenant": tenant or UNKNOWN_TENANT,
        "kind": kind,
        "reason": reason,
        "detail": detail,
        "received_at": datetime.now(UTC).isoformat(),
        "evidence": dict(evidence),
    }
    data = json.dumps(body, separators=(",", ":"), default=str).encode()
    return OutMsg(audit_subject(prefix, tenant, kind), data, {"Hub-Reason": reason})


async def record_rejection(  # noqa: PLR0917 - positional, as the ingress's callers were promised
    connection: NatsConnection,
    prefix: str,
    tenant: str | None,
    kind: str,
    reason: str,
    detail: str,
    evidence: Mapping[str, Any],
) -> int:
    """Store one rejection (a JetStream PubAck) and return its audit stream sequence.

    `tenant` is None when the request named no known tenant. Raises
    `NatsUnavailableError` when it cannot be stored: the caller then answers 503, never
    a 4xx that nothing remembers.
    """
    out = _message(prefix, tenant, kind, reason=reason, detail=detail, evidence=evidence)
    wire = wire_for(connection)
    # The connection's loop lives on its own thread: wait for it off the event loop.
    seq: int = await asyncio.to_thread(connection.run, lambda: wire.publish(out))
    count_verdict(kind, "rejected", reason)
    return seq


def rejections(
    connection: NatsConnection,
    prefix: str,
    tenant: str | None = None,
    *,
    kind: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Rejection]:
    """Up to `limit` rejections after audit position `after`, oldest first.

    `tenant` "_unknown" reads those that named no known tenant; None reads every tenant.
    """
    subject = f"{prefix}.audit.{token(tenant) if tenant else '*'}.{token(kind) if kind else '*'}"
    stream = f"{prefix.upper()}_AUDIT"
    wire = wire_for(connection)
    msgs, _ = connection.run(
        lambda: wire.direct_batch(
            stream, seq=after + 1, subject=subject, batch=min(max(limit, 1), PAGE)
        )
    )
    out: list[Rejection] = []
    for msg in msgs:
        body = json.loads(msg.data)
        out.append(
            Rejection(
                position=msg.seq,
                tenant=body["tenant"],
                kind=body["kind"],
                reason=body["reason"],
                detail=body["detail"],
                received_at=body["received_at"],
                evidence=body["evidence"],
            )
        )
    return out


# Verdicts: which recorded events an auditor sees as accepted signals or admin actions.


def is_admin_source(source: str) -> bool:
    """`admin`, or an admin channel: `http:admin`, `cli:admin`."""
    return source == "admin" or source.endswith(":admin")


def verdict_of(context: Mapping[str, str]) -> str | None:
    """`admin`, `accepted`, or None for what the hub derives itself (not a verdict).

    `context` is an event's `EventContext` as stored. Derived: source `hub`, events of
    processes (`verified_by` `process` or `none`), a causation mark `<id>@<version>`.
    """
    source = context.get("source", "")
    if is_admin_source(source):
        return "admin"
    if (
        source in INTERNAL_SOURCES
        or "@" in source
        or context.get("verified_by", "none") in INTERNAL_VERIFICATIONS
    ):
        return None
    return "accepted"


def reason_of(context: Mapping[str, str], verdict: str | None) -> str | None:
    """An accepted signal's reason is how it was verified; an admin action has none."""
    return context.get("verified_by") if verdict == "accepted" else None


# Rejection kinds that do not name their channel: their source is `<channel>:<kind>`, so
# that a search for `spark` finds Spark's rejected signals beside its accepted ones.
CHANNEL_OF_KIND = {"sso": "spark", "submission": "spark", "roster": "spark", "sign-in": "accounts"}


def rejection_source(kind: str) -> str:
    """The source an auditor sees for a rejection of `kind`: `submission` -> `spark:submission`."""
    channel = CHANNEL_OF_KIND.get(kind)
    return kind if channel is None else f"{channel}:{kind}"


def source_matches(source: str, wanted: str) -> bool:
    """`wanted` itself, or one of its family: `spark` matches `spark:course-sync`, `spark-sso`."""
    return source == wanted or any(source.startswith(wanted + sep) for sep in FAMILY_SEPARATORS)
