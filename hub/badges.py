"""Badge commands: define, update, retire and list a tenant's badges; the demo tenant's badges.

Errors (from `hub.domain.badges`, plus):

    BadgeError
     ├── BadgeExistsError        define: the key is taken (retired badges keep theirs)
     ├── UnknownBadgeError       update, retire: no badge has that key
     ├── BadgeRetiredError       update, retire: the badge is retired
     └── UnknownTenantError      no tenant has that slug

`ValueError` is raised for a rule that cannot be met (`check_rule`); the library's
`IntegrityError` when another admin changed the tenant's badges at the same moment.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.badges import (
    DEMO_BADGES,
    BadgeBook,
    BadgeError,
    BadgeExistsError,
    BadgeRule,
    badge_book_id,
    badge_id,
)


class UnknownTenantError(BadgeError):
    """Raised when no tenant has the slug asked for."""


@dataclass(frozen=True)
class BadgeListing:
    """A badge as the admin API shows it."""

    badge_id: str
    rule: BadgeRule
    retired: bool


@dataclass(frozen=True)
class Recorded:
    """What a command changed: the badge now, and the log position (None: nothing new)."""

    badge: BadgeListing
    position: int | None


def _book(hub: Hub, tenant: str) -> BadgeBook | None:
    if hub.tenant(tenant) is None:
        msg = f"no tenant {tenant!r} is registered"
        raise UnknownTenantError(msg)
    try:
        book: BadgeBook = hub.repository.get(badge_book_id(tenant))
    except AggregateNotFoundError:
        return None
    return book


def _listing(book: BadgeBook, key: str) -> BadgeListing:
    return BadgeListing(badge_id(book.tenant, key), book.badges[key], key in book.retired)


def _save(hub: Hub, book: BadgeBook, key: str) -> Recorded:
    recordings = hub.save(book)
    position = recordings[-1].notification.id if recordings else None
    return Recorded(_listing(book, key), position)


def define_badge(hub: Hub, tenant: str, rule: BadgeRule) -> Recorded:
    """Define a new badge (the tenant's first opens its badge book, in the same commit)."""
    book = _book(hub, tenant) or BadgeBook.open(tenant)
    book.define(rule)
    return _save(hub, book, rule.key)


def update_badge(hub: Hub, tenant: str, rule: BadgeRule) -> Recorded:
    """Replace a badge's rule; the same rule again records nothing."""
    book = _book(hub, tenant) or BadgeBook.open(tenant)  # a new one raises UnknownBadgeError
    book.update(rule)
    return _save(hub, book, rule.key)


def retire_badge(hub: Hub, tenant: str, key: str) -> Recorded:
    """No one earns the badge from now on; who earned it keeps it."""
    book = _book(hub, tenant) or BadgeBook.open(tenant)
    book.retire(key)
    return _save(hub, book, key)


def list_badges(hub: Hub, tenant: str, *, retired: bool = True) -> list[BadgeListing]:
    """The tenant's badges by name (with the retired ones unless `retired` is False)."""
    book = _book(hub, tenant)
    if book is None:
        return []
    found = [_listing(book, key) for key in book.badges]
    return sorted(
        (b for b in found if retired or not b.retired), key=lambda b: (b.rule.name, b.rule.key)
    )


def ensure_demo_badges(hub: Hub, tenant: str | None) -> int:
    """Define the seeds' demo badges the (demo) tenant lacks, none redefined; how many.

    Nothing without a tenant, or for one not registered."""
    if not tenant or hub.tenant(tenant) is None:
        return 0
    book = _book(hub, tenant) or BadgeBook.open(tenant)
    missing = [rule for rule in DEMO_BADGES if rule.key not in book.badges]
    for rule in missing:
        book.define(rule)
    if missing:
        hub.save(book)
    return len(missing)


__all__ = [
    "BadgeExistsError",
    "BadgeListing",
    "Recorded",
    "UnknownTenantError",
    "define_badge",
    "ensure_demo_badges",
    "list_badges",
    "retire_badge",
    "update_badge",
]
