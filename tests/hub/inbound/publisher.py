"""A partner publishing on NATS, as docs/inbound-nats.md shows: signed bodies, verdicts back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.api import ConsumerInfo, StreamInfo

from hub.bootstrap import Runtime
from hub.inbound.consumer import InboundConsumer
from hub.inbound.subjects import durable_name, inbound_stream, inbound_subject
from hub.spark.ingress import IngressLimits, build_ingress
from infra.jetstream.loop_wires import close_wires_here
from tests.hub.spark.signals import signature

# A bound on waiting for an answer, never an assertion about speed.
ANSWER_WITHIN_S = 30.0


@dataclass
class Publisher:
    """A nats-py client of the partner, and the verdicts that came back to it."""

    client: Client
    prefix: str

    async def publish(
        self,
        tenant: str,
        kind: str,
        body: bytes | dict[str, Any],
        secret: str | None,
        *,
        msg_id: str | None = None,
    ) -> asyncio.Queue[dict[str, Any]]:
        """Publish (awaiting the stream's PubAck); the queue gets the hub's verdicts."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        inbox = self.client.new_inbox()
        verdicts: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def on_reply(msg: Any) -> None:
            verdicts.put_nowait(json.loads(msg.data))

        await self.client.subscribe(inbox, cb=on_reply)
        headers = {"reply_to": inbox}
        if secret is not None:
            headers["X-Spark-Signature"] = signature(data, secret)
        if msg_id is not None:
            headers["Nats-Msg-Id"] = msg_id
        js = self.client.jetstream()
        await js.publish(inbound_subject(self.prefix, tenant, kind), data, headers=headers)
        return verdicts

    async def stream(self) -> StreamInfo:
        return await self.client.jetstream().stream_info(inbound_stream(self.prefix))

    async def consumer(self, kind: str) -> ConsumerInfo:
        js = self.client.jetstream()
        return await js.consumer_info(inbound_stream(self.prefix), durable_name(kind))


async def answer(verdicts: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    """The next verdict the hub sent back."""
    return await asyncio.wait_for(verdicts.get(), ANSWER_WITHIN_S)


@asynccontextmanager
async def publisher(runtime: Runtime) -> AsyncIterator[Publisher]:
    client = await nats.connect(runtime.nats_url)
    try:
        yield Publisher(client, runtime.settings.stream_prefix)
    finally:
        await client.drain()
        await close_wires_here()


@asynccontextmanager
async def consuming(
    runtime: Runtime, limits: IngressLimits | None = None
) -> AsyncIterator[InboundConsumer]:
    consumer = InboundConsumer(build_ingress(runtime, limits=limits))
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
