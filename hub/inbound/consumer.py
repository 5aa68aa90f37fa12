"""The inbound subscribers: one durable JetStream consumer per kind, on faststream's NATS broker.

A message is acknowledged only once its event is stored (the accept function awaited the
event's PubAck) or its rejection is in the audit stream; so an acknowledged publish
survives a crash, and a bad message is answered once and never redelivered. What passes
with time (the store unreachable, a concurrent change, the rate limit) is retried later, with
a growing delay, until it is stored or refused; an unexpected error `MAX_CRASHES` times.

A publisher that wants the verdict sets a `reply_to` header (faststream's convention for
JetStream): the verdict is published there as JSON, `{"status": 202, "result": {...}}` or
`{"status": 401, "problem": {...}}`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage
from pydantic import BaseModel

from hub.http.problems import ProblemError
from hub.inbound.carrier import NatsCarrier
from hub.inbound.subjects import (
    KINDS,
    durable_name,
    inbound_stream,
    inbound_stream_config,
    inbound_subject,
)
from hub.spark.ingress import Gate, SparkIngress
from hub.spark.signals import Accepted, accept_roster, accept_submission
from infra.errors import NatsUnavailableError
from infra.jetstream.factory import wire_for
from infra.nats_client import NatsConnection

ACK_WAIT_S = 30.0
RETRY_DELAY_S = 2.0
MAX_RETRY_DELAY_S = 60.0
MAX_CRASHES = 10
RETRIED_STATUSES = frozenset({409, 429, 503})
Accept = Callable[[Gate, str], Awaitable[Accepted[Any]]]
ACCEPTORS: dict[str, Accept] = {"submission": accept_submission, "roster": accept_roster}
# faststream handles the messages of one pull concurrently. Submissions are independent (one
# aggregate each): 16 at a time. Roster changes of one learner must apply in the order they
# were published (an enrol, then a drop): one at a time.
BATCH = {"submission": 16, "roster": 1}
log = structlog.get_logger("hub.inbound")


class Verdict(BaseModel):
    """What a publisher hears back on its `reply_to` subject."""

    status: int
    result: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    retry: bool = False


def retry_delay_s(delivered: int) -> float:
    return min(RETRY_DELAY_S * delivered, MAX_RETRY_DELAY_S)


def _crashed(delivered: int) -> Outcome:
    """An unexpected error: retried `MAX_CRASHES` times, then dropped (and logged)."""
    again = delivered < MAX_CRASHES
    detail = "the hub could not handle it" + ("; it will retry" if again else "; it gave up")
    problem = {"title": "Internal error", "status": 503, "detail": detail}
    return Outcome(Verdict(status=503, problem=problem), retry=again)


async def ensure_inbound_stream(connection: NatsConnection, prefix: str) -> None:
    """Create or update `<PREFIX>_INBOUND` (the publishers' messages wait there)."""
    wire = wire_for(connection)
    config = inbound_stream_config(prefix)
    await asyncio.to_thread(connection.run, lambda: wire.ensure_stream(config), 10)


async def handle_signal(ingress: SparkIngress, kind: str, carrier: NatsCarrier) -> Outcome:
    """Verify and record one inbound message through the same code as the HTTP webhook."""
    tenant = carrier.msg.subject.split(".")[2]
    gate = Gate(carrier, ingress, kind)
    try:
        accepted = await ACCEPTORS[kind](gate, tenant)
    except ProblemError as problem:
        status = problem.kind.status
        body = {
            "type": problem.kind.uri,
            "title": problem.kind.title,
            "status": status,
            "detail": problem.detail,
            **problem.extensions,
        }
        return Outcome(Verdict(status=status, problem=body), retry=status in RETRIED_STATUSES)
    except NatsUnavailableError as error:  # the event could not be stored: try again later
        unavailable = {
            "title": "The event store is unavailable",
            "status": 503,
            "detail": str(error),
        }
        return Outcome(Verdict(status=503, problem=unavailable), retry=True)
    return Outcome(Verdict(status=202, result=accepted.body.model_dump()))


class InboundConsumer:
    """faststream's NATS broker with one JetStream subscriber per inbound kind."""

    def __init__(self, ingress: SparkIngress) -> None:
        self.ingress = ingress
        runtime = ingress.runtime
        self.prefix = runtime.settings.stream_prefix
        self.broker = NatsBroker(runtime.nats_url, logger=None)
        stream = JStream(inbound_stream(self.prefix), declare=False)
        for kind in KINDS:
            self.broker.subscriber(
                inbound_subject(self.prefix, "*", kind),
                stream=stream,
                durable=durable_name(kind),
                pull_sub=PullSub(batch_size=BATCH[kind], timeout=1.0),
                config=ConsumerConfig(ack_wait=ACK_WAIT_S),
                ack_policy=AckPolicy.MANUAL,
                title=f"inbound/spark/{kind}",
            )(self._handler(kind))

    def _handler(self, kind: str) -> Callable[[NatsMessage], Awaitable[dict[str, Any]]]:
        async def handle(message: NatsMessage) -> dict[str, Any]:
            return await self.on_message(kind, message)

        return handle

    async def on_message(self, kind: str, message: NatsMessage) -> dict[str, Any]:
        raw = message.raw_message
        meta = raw.metadata
        carrier = NatsCarrier(raw, sequence=meta.sequence.stream, delivered=meta.num_delivered)
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(
            request_id=carrier.request_id, correlation_id=carrier.correlation_id
        ):
            try:
                outcome = await handle_signal(self.ingress, kind, carrier)
            except Exception:  # a bug must not stop the consumer: log it, retry, bounded
                log.exception("nats.inbound.failed", kind=kind, subject=raw.subject)
                outcome = _crashed(carrier.delivered)
            if outcome.retry:
                await message.nack(delay=retry_delay_s(carrier.delivered))
            else:  # stored, or refused for good: never again
                await message.ack()
            log.info(
                "nats.inbound",
                kind=kind,
                subject=raw.subject,
                status=outcome.verdict.status,
                retry=outcome.retry,
                delivered=carrier.delivered,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        return outcome.verdict.model_dump(exclude_none=True)

    async def start(self) -> None:
        connection = NatsConnection.shared(
            self.ingress.runtime.nats_url, timeout=self.ingress.runtime.settings.nats_timeout_s
        )
        await ensure_inbound_stream(connection, self.prefix)
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()
