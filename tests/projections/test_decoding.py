"""The rebuild's event decoder gives the events the eventsourcing mapper gives."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.application import Application

from projections.decoding import EventDecoder, _long_number
from projections.upstreams import open_reader
from tests.projections.test_paging import school_log

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


@pytest.fixture
def app() -> Application[Any]:
    return open_reader("hub", POPO)


def _same(decoded: Any, expected: Any) -> None:
    assert type(decoded) is type(expected)
    assert vars(decoded) == vars(expected)


def test_the_hubs_events_take_the_fast_path_and_decode_as_the_mapper_does(
    app: Application[Any],
) -> None:
    decoder = EventDecoder(app.mapper)
    events = [event for event, _ in school_log()]
    kinds = {type(event).__qualname__ for event in events}
    assert {"Learner.Registered", "Progress.TaskCompleted", "BadgeBook.BadgeDefined"} <= kinds
    for event in events:
        stored = app.mapper.to_stored_event(event)
        fast = decoder._fast(stored)
        assert fast is not None, type(event).__qualname__
        _same(fast, app.mapper.to_domain_event(stored))
        _same(decoder(stored), event)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # A typed value below the top level: the transcoder decodes it, orjson would not.
        ("details", b'{"when":{"_type_":"datetime_iso","_data_":"2025-01-15T10:00:00+00:00"}}'),
        # "_type_" as a plain key of the event's data.
        ("details", b'{"_type_":"not a transcoding","x":1}'),
        # An integer orjson refuses (more than 64 bits).
        ("details", b'{"big":123456789012345678901234567890}'),
    ],
)
def test_what_the_fast_path_cannot_decode_goes_through_the_mapper(
    app: Application[Any], field: str, value: bytes
) -> None:
    event = next(e for e, _ in school_log() if type(e).__qualname__ == "Quest.Synced")
    stored = app.mapper.to_stored_event(event)
    state = json.loads(stored.state)
    state[field] = json.loads(value)
    odd = replace(stored, state=json.dumps(state).encode())
    decoder = EventDecoder(app.mapper)
    assert decoder._fast(odd) is None
    _same(decoder(odd), app.mapper.to_domain_event(odd))


@pytest.mark.parametrize(
    ("data", "long"),
    [
        (b'{"a":1234567890123456789012}', True),
        (b'{"a":-1234567890123456789012}', True),
        (b'{"a":[1,1234567890123456789012]}', True),
        (b'{"a":"s.00000000000002580000000000000003","b":12345678901234567890}', True),
        (b"1234567890123456789", True),
        (b'{"a": 1234567890123456789012}', True),
        # Digits inside a string (ids): orjson keeps them as they are.
        (b'{"a":"s.00000000000002580000000000000003"}', False),
        (b'{"a":"x0000000000000000000000","b":123}', False),
        (b'{"a":123456789012345678}', False),
    ],
)
def test_integers_of_19_digits_or_more_are_told_from_digits_in_strings(
    data: bytes, long: bool
) -> None:
    assert _long_number(data) is long
