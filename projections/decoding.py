"""Stored events back into domain events for a rebuild: the mapper's result, decoded faster.

The eventsourcing mapper decodes an event's JSON state with `json` and an object hook
called for every object in it (the evidence's too), then builds the event. That is most
of what a rebuild spends per event before any SQL. `EventDecoder` parses the state with
orjson and decodes the transcoder's typed values (`{"_type_": ..., "_data_": ...}`, the
events' timestamps) where the hub's events have them, at the top level; anything else (a
typed value deeper down, a cipher or a compressor, an event to upcast, JSON orjson
refuses, an integer it would read as a float) goes through the mapper.
`tests/projections/test_decoding.py` checks that both give the same events.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import resolve_topic

_TYPED = b'"_type_"'
_DIGITS = bytes(ord("0") if ord("0") <= b <= ord("9") else ord(" ") for b in range(256))
_LONG_RUN = b"0" * 19
_BEFORE_NUMBER = frozenset(b":,[- \t\r\n")
"""19 digits in a row after what may come before a number (found with `bytes.translate`,
faster than a regex): maybe an integer orjson would not keep exact (it reads those past
64 bits as floats). A string that has them only costs the mapper's way."""


class EventDecoder:
    """`mapper.to_domain_event`, with a fast path for the JSON states the hub records."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        plain = mapper.cipher is None and mapper.compressor is None
        self._names = transcoder.names if plain and isinstance(transcoder, JSONTranscoder) else None

    def __call__(self, stored: StoredEvent) -> Any:
        event = None if self._names is None else self._fast(stored)
        return self.mapper.to_domain_event(stored) if event is None else event

    def _fast(self, stored: StoredEvent) -> Any:
        """The domain event, or None where only the mapper decodes it as it would."""
        state = self._state(stored.state)
        if state is None:
            return None
        cls = resolve_topic(stored.topic)
        if state.pop("class_version", 1) != getattr(cls, "class_version", 1):
            return None  # to upcast: the mapper's way
        convert = find_id_convertor(cls, cast("Hashable", type(stored.originator_id)))
        state["originator_id"] = convert(stored.originator_id)
        state["originator_version"] = stored.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event

    def _state(self, data: bytes) -> dict[str, Any] | None:
        """The event's state as the transcoder decodes it, or None (see the module)."""
        if self._names is None or _long_number(data):
            return None
        try:
            state = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        if type(state) is not dict:
            return None
        typed = data.count(_TYPED)
        for key, value in state.items() if typed else ():
            if type(value) is dict and len(value) == 2 and "_type_" in value:
                transcoding = self._names.get(value["_type_"])
                if transcoding is None or "_data_" not in value:
                    return None
                state[key] = transcoding.decode(value["_data_"])
                typed -= 1
        # Left over: a typed value below the top level, or "_type_" as a plain key.
        return None if typed else state


def _long_number(data: bytes) -> bool:
    """Whether `data` may hold an integer of 19 digits or more (see `_LONG_RUN`)."""
    digits = data.translate(_DIGITS)
    start = digits.find(_LONG_RUN)
    while start != -1:
        if start == 0 or data[start - 1] in _BEFORE_NUMBER:
            return True
        end = digits.find(b" ", start)  # past this run of digits
        if end == -1:
            return False
        start = digits.find(_LONG_RUN, end)
    return False
