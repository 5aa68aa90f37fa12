"""A NATS client per running event loop, so that async callers write without a thread hop.

The recorders are synchronous: they hand their coroutines to the process's connection
thread (`infra.nats_client.NatsConnection`). An async caller (an HTTP handler on
uvicorn's loop) that awaited that would cross threads twice per commit, and the GIL
makes every crossing wait behind whatever else runs. A wire made here lives on the
caller's own loop: a one-event commit is then a plain `await` of its PubAck.

`wire_here(connection)` makes the loop's client to `connection.url` on first use;
`close_wires_here()` closes the running loop's clients (an app's lifespan does, on
shutdown).
"""

from __future__ import annotations

import asyncio
import weakref

from infra.jetstream.wire import Wire
from infra.nats_client import NatsConnection, drop_unsent, open_client

_Wires = dict[str, "asyncio.Task[Wire]"]
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wires] = weakref.WeakKeyDictionary()


async def _open(url: str, timeout: float) -> Wire:
    holder: list[Wire] = []

    def on_disconnect() -> None:
        if holder:
            drop_unsent(holder[0].client, url)

    client = await open_client(url, timeout=timeout, name="hub-loop", on_disconnect=on_disconnect)
    holder.append(Wire(client, timeout))
    return holder[0]


async def wire_here(connection: NatsConnection) -> Wire:
    """The running loop's wire to the server of `connection` (same URL and timeout)."""
    loop = asyncio.get_running_loop()
    wires = _by_loop.setdefault(loop, {})
    making = wires.get(connection.url)
    if making is None or (making.done() and (making.cancelled() or making.exception())):
        making = loop.create_task(_open(connection.url, connection.timeout))
        wires[connection.url] = making
    return await asyncio.shield(making)


async def close_wires_here() -> None:
    """Close the running loop's clients (those that connected)."""
    wires = _by_loop.pop(asyncio.get_running_loop(), {})
    for making in wires.values():
        if not making.done():
            making.cancel()
            continue
        if not making.cancelled() and making.exception() is None:
            wire = making.result()
            await wire.aclose()
            await wire.client.close()
