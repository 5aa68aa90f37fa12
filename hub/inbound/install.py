"""Run the inbound subscribers beside the HTTP ingress, for as long as the app is served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.inbound.consumer import InboundConsumer


def install_inbound(app: FastAPI, runtime: Runtime) -> None:
    """Start the subscribers with the app (after its own start-up), stop them before it stops.

    Off with `HUB_INBOUND_NATS=false`. Uses the Spark ingress of the app (`install_spark`):
    the same limiter, blobs and limits as the HTTP webhooks.
    """
    if not runtime.settings.inbound_nats:
        return
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[Any]:
        async with inner(served) as state:
            consumer = InboundConsumer(served.state.spark)
            await consumer.start()
            served.state.inbound = consumer
            try:
                yield state
            finally:
                await consumer.stop()

    app.router.lifespan_context = lifespan
