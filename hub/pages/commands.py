"""The pages' one command, `set_showcase`, and the reads of a showcase (from the `hub` app).

    set_showcase   Showcase.Opened | SlugChanged + VisibilityChanged, with
                   ShowcaseSlug.Claimed | Reclaimed (new slug), ShowcaseSlug.Released (old),
                   ShowcaseSlug.VisibilityChanged (same slug, new visibility)

A change of slug claims the new one and releases the old one in the same save, so a slug
is never held twice and never lost half way. Nothing is recorded when nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.base import HubAggregate, tenant_of
from hub.domain.showcases import (
    PRIVATE,
    Showcase,
    ShowcaseSlug,
    check_slug,
    check_visibility,
    showcase_id,
    showcase_slug_id,
)

A = TypeVar("A", bound=HubAggregate)


class SlugTakenError(Exception):
    """Raised when another learner of the tenant holds the slug."""


class NotThisTenantError(Exception):
    """Raised when a learner id does not belong to the tenant named."""


@dataclass(frozen=True)
class ShowcaseState:
    """What a learner's showcase is now (`slug` "" and private before they set one)."""

    learner_id: str
    slug: str
    visibility: str
    position: int | None = None
    changed: bool = False


def _get(hub: Hub, aggregate_id: str, _: type[A]) -> A | None:
    try:
        found: A = hub.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


def showcase_of(hub: Hub, tenant: str, learner_id: str) -> ShowcaseState:
    showcase = _get(hub, showcase_id(tenant, learner_id), Showcase)
    if showcase is None:
        return ShowcaseState(learner_id, "", PRIVATE)
    return ShowcaseState(learner_id, showcase.slug, showcase.visibility)


def showcase_by_slug(hub: Hub, tenant: str, slug: str) -> ShowcaseState | None:
    """The showcase at `slug` in `tenant`, or None if nobody holds it (one read)."""
    claim = _get(hub, showcase_slug_id(tenant, slug), ShowcaseSlug)
    if claim is None or claim.learner_id is None:
        return None
    return ShowcaseState(claim.learner_id, slug, claim.visibility)


def _claim(
    hub: Hub, tenant: str, slug: str, learner_id: str, visibility: str
) -> ShowcaseSlug | None:
    """The slug's aggregate held by `learner_id` with `visibility`; None if unchanged."""
    claim = _get(hub, showcase_slug_id(tenant, slug), ShowcaseSlug)
    if claim is None:
        return ShowcaseSlug(tenant=tenant, slug=slug, learner_id=learner_id, visibility=visibility)
    if claim.learner_id is None:
        claim.reclaim(learner_id, visibility)
    elif claim.learner_id != learner_id:
        msg = f"the slug {slug!r} is taken: choose another"
        raise SlugTakenError(msg)
    elif claim.visibility != visibility:
        claim.change_visibility(visibility)
    return claim if claim.pending_events else None


def set_showcase(
    hub: Hub, tenant: str, learner_id: str, *, slug: str, visibility: str
) -> ShowcaseState:
    """Give `learner_id`'s portfolio page this slug and visibility (checked first)."""
    if tenant_of(learner_id) != tenant:
        msg = f"learner {learner_id!r} is not of tenant {tenant!r}"
        raise NotThisTenantError(msg)
    check_slug(slug)
    check_visibility(visibility)
    changed: list[Any] = []
    showcase = _get(hub, showcase_id(tenant, learner_id), Showcase)
    claim = _claim(hub, tenant, slug, learner_id, visibility)
    if claim is not None:
        changed.append(claim)
    if showcase is None:
        showcase = Showcase(tenant=tenant, learner_id=learner_id, slug=slug, visibility=visibility)
        changed.append(showcase)
    else:
        if showcase.slug != slug:
            old = _get(hub, showcase_slug_id(tenant, showcase.slug), ShowcaseSlug)
            if old is not None and old.learner_id == learner_id:
                old.release(learner_id)
                changed.append(old)
            showcase.change_slug(slug, showcase.slug)
        if showcase.visibility != visibility:
            showcase.change_visibility(visibility, showcase.visibility)
        if showcase.pending_events:
            changed.append(showcase)
    if not changed:
        return ShowcaseState(learner_id, slug, visibility)
    recordings = hub.save(*changed)
    position = max(int(recording.notification.id) for recording in recordings)
    return ShowcaseState(learner_id, slug, visibility, position, changed=True)
