"""The public event type names a webhook can subscribe to: every event of the hub's log.

A name is `hub.replay.event_type_of(topic)` (`Submission.Received`): the aggregate and
the event. The catalogue is found, not listed by hand, from the aggregates of the
modules that record into the hub's log, so a new event is subscribable the day it exists.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil

from hub.domain.base import HubAggregate
from hub.domain.webhooks import WILDCARD
from hub.replay import event_type_of

AGGREGATE_MODULES = ("hub.caliper.activity", "hub.caliper.settings")
"""Modules outside `hub.domain` whose aggregates are recorded in the hub's log."""

NOT_IN_HUB_LOG = frozenset({"HubAggregate", "Delivery"})
"""Owners of events that never reach the hub's log: the base class, the connectors'
deliveries (each connector records them in its own log)."""


def _modules() -> list[str]:
    import hub.domain  # noqa: PLC0415 - the package is walked, not used

    found = [m.name for m in pkgutil.iter_modules(hub.domain.__path__, "hub.domain.")]
    return [*found, *AGGREGATE_MODULES]


def _event_classes() -> list[type[object]]:
    pending: list[type[object]] = [HubAggregate.Event]
    seen: list[type[object]] = []
    while pending:
        cls = pending.pop()
        seen.append(cls)
        pending.extend(c for c in cls.__subclasses__() if c not in seen and c not in pending)
    return seen


def _base_copy(cls: type[object], event_name: str) -> bool:
    """Whether `cls` is the library's copy of `Event`, or of `Created` for an aggregate
    that is created by another event: a base of events, never recorded itself."""
    # A copy adds no field; an `@event("Created")` of its own has the method's parameters.
    return event_name in {"Event", "Created"} and not inspect.get_annotations(cls)


@functools.cache
def public_event_types() -> frozenset[str]:
    """Every public event type name of the hub's log."""
    modules = _modules()
    for name in modules:
        importlib.import_module(name)
    names = set()
    for cls in _event_classes():
        owner, _, event_name = cls.__qualname__.rpartition(".")
        if cls.__module__ not in modules or not owner or owner in NOT_IN_HUB_LOG:
            continue
        if event_name and not _base_copy(cls, event_name):
            # The topic by hand: `get_topic` caches, and refuses a second class of one name
            # (the library makes copies of an aggregate's event classes for its subclasses).
            names.add(event_type_of(f"{cls.__module__}:{cls.__qualname__}"))
    return frozenset(names)


class UnknownEventTypeError(ValueError):
    """Raised for event type names the hub's log does not hold; `unknown` lists them."""

    def __init__(self, unknown: list[str]) -> None:
        super().__init__(f"unknown event types {unknown}; GET the catalogue for the known ones")
        self.unknown = unknown


def check_event_types(names: list[str]) -> list[str]:
    """`names` without repeats, sorted, if every one is known or the wildcard; else raises."""
    known = public_event_types()
    unknown = sorted({n for n in names if n != WILDCARD and n not in known})
    if unknown:
        raise UnknownEventTypeError(unknown)
    return sorted(set(names))
