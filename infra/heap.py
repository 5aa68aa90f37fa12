"""The garbage collector of a long-running server, set once its start-up is done.

A hub process imports FastAPI, pydantic, SQLAlchemy, nats-py and the hub's own modules
and builds its app: a few hundred thousand objects that live as long as the process.
CPython's full collection walks every tracked object; with those in the oldest generation
each full collection (every ~70,000 net allocations of containers under request load)
is a pause of tens of milliseconds in which no request moves: the webhook's p99.
`gc.freeze()` moves what exists at start-up to a permanent generation that collections
skip (CPython's advice for servers, `gc.freeze` docs), and a larger first threshold
makes the young collections, which a request's short-lived dicts and lists trigger,
fewer. Cycles made later are still collected; only the start-up heap is left alone.

Called by the server entry points (`hub serve`, `hub run`, the bench's servers), never by
code that builds apps repeatedly in one process (the tests), where it would keep every
earlier app alive.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""Net container allocations between young collections (CPython's default: 700)."""


def settle_heap() -> None:
    """Collect once, freeze what survives, and space the young collections out."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
