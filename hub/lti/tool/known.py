"""What a process has seen of launch mappings, so that a returning learner's launch reads less.

A launch of a known learner in a known course reads its login and nothing else: who an
identity points at never changes, and a course's, a resource link's or a task's mapping,
and a learner's enrolment with the profile claims last applied, are remembered as last
written or read here, for `TTL_S`. A value
another process changed meanwhile is seen again within `TTL_S`; a commit that conflicts
makes the launch forget everything and read again.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from hub.application import Hub

TTL_S = 30.0
T = TypeVar("T")
MAX_ITEMS = 50_000


class Known:
    """aggregate id -> the value last seen (bounded; the oldest half goes when full)."""

    def __init__(
        self, *, ttl_s: float = TTL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        item = self._items.get(key)
        if item is None or item[0] <= self.clock():
            return None
        return item[1]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            if len(self._items) >= MAX_ITEMS:
                for old in list(self._items)[: MAX_ITEMS // 2]:
                    del self._items[old]
            self._items[key] = (self.clock() + self.ttl_s, value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def per_hub(make: Callable[[], T]) -> Callable[[Hub], T]:
    """One `make()` per hub application object, made on first use (and gone with the hub)."""
    made: weakref.WeakKeyDictionary[Hub, T] = weakref.WeakKeyDictionary()
    lock = threading.Lock()

    def of(hub: Hub) -> T:
        with lock:
            if hub not in made:
                made[hub] = make()
            return made[hub]

    return of


known_for = per_hub(Known)
