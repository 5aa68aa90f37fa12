"""Spark's signed webhooks, whatever carried them in: verify, parse, check, record, answer.

The HTTP routes and the NATS inbound subscriber both call `accept_submission` and
`accept_roster` with a `Gate`; a refusal raises the gate's `ProblemError` (already audited).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from hub.spark import handlers
from hub.spark.evidence import check_files, store_files
from hub.spark.ingress import Gate
from hub.spark.ratelimit import Decision
from hub.spark.verify import SignalRejectedError
from schemas.spark import RosterWebhook, SubmissionWebhook

R = TypeVar("R", bound=BaseModel)


class SubmissionAccepted(BaseModel):
    submission_id: str
    position: int


class RosterAccepted(BaseModel):
    learner_id: str
    quest_id: str
    action: str
    changed: bool
    position: int | None


@dataclass(frozen=True)
class Accepted(Generic[R]):
    """What a signal's sender is told, and the rate limit it counted against."""

    body: R
    limit: Decision


async def accept_submission(gate: Gate, *tenant_names: str | None) -> Accepted[SubmissionAccepted]:
    signed = await gate.signed_body(*tenant_names)
    webhook = await gate.parse(SubmissionWebhook, signed.body)
    try:
        checked = check_files(
            webhook.submission_files,
            allowed_hosts=signed.connection.allowed_evidence_hosts,
            max_file_bytes=gate.ingress.limits.max_file_bytes,
        )
    except SignalRejectedError as error:
        await gate.reject(error.reason, error.detail)
    # Every check passed: only now is anything written (blobs, then the one event).
    if any(file.data is not None for file in checked):  # writing blobs blocks: off the loop
        files = await run_in_threadpool(store_files, gate.ingress.blobs, checked)
    else:
        files = store_files(gate.ingress.blobs, checked)
    result = await gate.run_async(
        "hmac-sha256",
        handlers.record_submission_async,
        gate.ingress.runtime.hub,
        signed.tenant,
        webhook,
        files=files,
        verified=gate.verified(signed),
    )
    body = SubmissionAccepted(submission_id=result.submission_id, position=result.position)
    return Accepted(body, signed.limit)


async def accept_roster(gate: Gate, *tenant_names: str | None) -> Accepted[RosterAccepted]:
    signed = await gate.signed_body(*tenant_names)
    change = await gate.parse(RosterWebhook, signed.body)
    result = await gate.run(
        "hmac-sha256",
        handlers.record_roster_change,
        gate.ingress.runtime.hub,
        signed.tenant,
        change,
    )
    body = RosterAccepted(
        learner_id=result.learner_id,
        quest_id=result.quest_id,
        action=result.action,
        changed=result.changed,
        position=result.position,
    )
    return Accepted(body, signed.limit)
