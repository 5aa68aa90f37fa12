"""The base of every hub aggregate: tenant-scoped string ids, events that carry their origin.

Aggregate ids are `<tenant>.<Type>.<uuid5 hex>`: deterministic over the tenant, the
source and the external id, so a repeated signal lands on the same aggregate, and
addressable, so the event stream's subjects carry tenant and type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)

TENANT_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class InvalidTenantError(ValueError):
    """Raised for a tenant slug that is not 1-40 lowercase letters, digits or '-'."""


def check_tenant(slug: str) -> str:
    if not TENANT_SLUG.match(slug):
        msg = f"tenant {slug!r} must be 1-40 lowercase letters, digits or '-'"
        raise InvalidTenantError(msg)
    return slug


def aggregate_id(tenant: str, type_name: str, *natural_key: str) -> str:
    """The deterministic id of the `type_name` aggregate of `tenant` with this natural key."""
    check_tenant(tenant)
    key = "\x1f".join((tenant, type_name, *natural_key))
    return f"{tenant}.{type_name}.{uuid5(NAMESPACE_URL, key).hex}"


def tenant_of(originator_id: str) -> str:
    return originator_id.split(".", 1)[0]


def type_of(originator_id: str) -> str:
    return originator_id.split(".", 2)[1]


@dataclass(frozen=True)
class EventContext:
    """Where the events of one unit of work came from."""

    correlation_id: str
    causation_id: str
    source: str = "hub"
    verified_by: str = "none"


_context: ContextVar[EventContext | None] = ContextVar("event_context", default=None)


@contextmanager
def event_context(context: EventContext) -> Iterator[EventContext]:
    """Events created inside this block carry `context`."""
    token = _context.set(context)
    try:
        yield context
    finally:
        _context.reset(token)


def context_fields() -> dict[str, str]:
    """The `context` an event created now carries (the current `event_context`'s fields)."""
    return dict(vars(_current()))


def _current() -> EventContext:
    context = _context.get()
    if context is None:
        new_id = uuid4().hex
        return EventContext(correlation_id=new_id, causation_id=new_id)
    return context


class HubAggregate(BaseAggregate[str]):
    """An aggregate of one tenant; its events carry their provenance."""

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        originator_id: str
        originator_version: int
        timestamp: datetime
        # correlation, causation, source: keyword-only so subclasses add plain fields
        context: dict[str, str] = field(
            default_factory=lambda: dict(vars(_current())), kw_only=True
        )

    @dataclass(frozen=True)
    class Created(Event, CanInitAggregate[str]):
        originator_topic: str

    @property
    def tenant(self) -> str:
        return tenant_of(self.id)

    def __getstate__(self) -> dict[str, Any]:  # snapshots: plain attributes only
        return dict(self.__dict__)
