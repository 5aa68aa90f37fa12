"""Rate limits: a sliding window of one minute per key (Spark webhooks, LTI endpoints).

The window is kept in this process's memory: with several `hub serve` processes each
allows the limit (a limit shared through NATS KV is a later issue). The log of a key
holds at most `limit` times, and keys are only made for connected tenants, so memory is
bounded by the limits configured. A request is counted before its body is read or its
signature checked (that is the work the limit protects): unsigned requests to a
tenant's URL use up that tenant's allowance too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_S = 60.0


@dataclass(frozen=True)
class Decision:
    """Whether one request may go on, with what the `RateLimit-*` headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until a request is allowed again (0 if one is now)
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


class SlidingWindowLimiter:
    """At most `limit` requests per key in any `window_s` seconds (in-process, thread-safe)."""

    def __init__(
        self, *, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: tuple[str, ...], limit: int) -> Decision:
        """Count one request for `key` if the limit allows it."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            while len(hits) > limit:  # the limit was lowered since
                hits.popleft()
            if len(hits) < limit:
                hits.append(now)
                reset = 0 if len(hits) < limit else self._until_free(hits, now)
                return Decision(True, limit, limit - len(hits), reset, 0)
            wait = self._until_free(hits, now)
            return Decision(False, limit, 0, wait, max(wait, 1))

    def _until_free(self, hits: deque[float], now: float) -> int:
        return max(math.ceil(hits[0] + self.window_s - now), 1)
