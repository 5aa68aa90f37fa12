"""Readers whose answer is reused for a moment: the dashboard's figures are at most
`ttl` seconds old, and however many admins (or one admin's tabs) ask at once, the read
models are read once per moment (one caller reads, the others wait for its answer).
What is made from an answer (a rendered page) is kept with it, for as long as it is."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
FRESH_S = 1.0
MAX_DERIVED = 64


class Fresh(Generic[T]):
    """`read()` at most once per `ttl` seconds; `forget()` after a change made here."""

    def __init__(self, read: Callable[[], T], ttl: float = FRESH_S) -> None:
        self._read = read
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value: T | None = None
        self._until = 0.0
        self._derived: dict[Hashable, Any] = {}

    def _current(self) -> T:
        if self._value is None or time.monotonic() >= self._until:
            self._value = self._read()
            self._until = time.monotonic() + self._ttl
            self._derived.clear()
        return self._value

    def __call__(self) -> T:
        with self._lock:
            return self._current()

    def derived(self, key: Hashable, make: Callable[[T], R]) -> R:
        """`make(answer)`, made once per answer and `key` (a page for one session)."""
        with self._lock:
            value = self._current()
            if key not in self._derived:
                if len(self._derived) >= MAX_DERIVED:
                    self._derived.clear()
                self._derived[key] = make(value)
            made: R = self._derived[key]
            return made

    def forget(self) -> None:
        with self._lock:
            self._value = None
