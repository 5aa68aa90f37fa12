"""What every command on the `hub` app does around its decision: read, save, retry on a race.

A command decides on aggregates read from the log and saves what changed in one commit;
if another writer got there first (`IntegrityError`), it runs again on what the winner
wrote, up to `ATTEMPTS` times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.base import HubAggregate
from infra.jetstream.subjects import is_aggregate_id

ATTEMPTS = 5
T = TypeVar("T")


def retrying(command: Callable[[], T]) -> T:
    """`command()`, run again after each lost race (at most `ATTEMPTS` times in all)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return command()
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def get_or_none(hub: Hub, found_id: str) -> Any:
    """The aggregate, or None when there is none (an id that is not well formed names none:
    ids from a URL are the caller's, and a malformed one is simply not found)."""
    if not is_aggregate_id(found_id):
        return None
    try:
        return hub.repository.get(found_id)
    except AggregateNotFoundError:
        return None


def save_changed(hub: Hub, *aggregates: HubAggregate) -> int | None:
    """Save the aggregates with new events in one commit; its log position (None: none)."""
    changed = [a for a in aggregates if a.pending_events]
    if not changed:
        return None
    return max(int(r.notification.id) for r in hub.save(*changed))


def saved(hub: Hub, *aggregates: HubAggregate) -> int:
    """`save_changed` for a decision that always records something."""
    position = save_changed(hub, *aggregates)
    if position is None:
        msg = "the command recorded nothing"
        raise AssertionError(msg)
    return position
