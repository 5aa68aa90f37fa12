"""Reading what the emitter published: the stream's head, and the envelopes after it."""

from __future__ import annotations

from typing import Any, Literal, overload

from connectors.caliper_stream import CaliperStream
from tests.connectors.world import wait_for


def head(stream: CaliperStream) -> int:
    """The last sequence on the Caliper stream (0 when empty)."""
    found = stream.read(0, limit=100_000)
    return found[-1].seq if found else 0


@overload
def events_after(
    stream: CaliperStream, seq: int, count: int, *, tenant: str, raw: Literal[True]
) -> list[bytes]: ...
@overload
def events_after(
    stream: CaliperStream, seq: int, count: int, *, tenant: str, raw: Literal[False] = False
) -> list[dict[str, Any]]: ...
def events_after(
    stream: CaliperStream, seq: int, count: int, *, tenant: str, raw: bool = False
) -> list[bytes] | list[dict[str, Any]]:
    """The first `count` envelopes of `tenant` after `seq` (waits for them)."""
    found = wait_for(
        lambda: got if len(got := stream.read(seq, tenant=tenant)) >= count else None,
        f"{count} envelopes of {tenant} after {seq}",
    )
    if raw:
        return [p.raw for p in found[:count]]
    return [p.envelope for p in found[:count]]
