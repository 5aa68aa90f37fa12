"""A learner's showcase: the slug and visibility of their portfolio's public page.

`Showcase` is one per learner (its id derived from the learner's); `ShowcaseSlug` is one
per tenant and slug (its id derived from the slug), so that claiming a slug is atomic
with the learner's own event and two learners can never hold the same slug. The slug
also keeps its holder's visibility (changed in the same save as the learner's), so the
public page at a slug is decided with one read.
"""

from __future__ import annotations

import re

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

PRIVATE, OBSERVERS, PUBLIC = "private", "observers", "public"
VISIBILITIES = (PRIVATE, OBSERVERS, PUBLIC)
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$")


class ShowcaseInvalidError(ValueError):
    """Raised for a slug that is not 3-40 lowercase letters, digits or inner '-', or an
    unknown visibility."""


def check_slug(slug: str) -> str:
    if not SLUG.match(slug) or "--" in slug:
        msg = (
            f"slug {slug!r} must be 3-40 lowercase letters, digits or single '-' "
            "(not at either end)"
        )
        raise ShowcaseInvalidError(msg)
    return slug


def check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        msg = f"visibility {visibility!r} must be one of {', '.join(VISIBILITIES)}"
        raise ShowcaseInvalidError(msg)
    return visibility


def showcase_id(tenant: str, learner_id: str) -> str:
    return aggregate_id(tenant, "Showcase", learner_id)


def showcase_slug_id(tenant: str, slug: str) -> str:
    return aggregate_id(tenant, "ShowcaseSlug", slug)


class Showcase(HubAggregate):
    """How a learner shows their portfolio: at `/portfolio/<slug>`, to whom `visibility` says."""

    @staticmethod
    def create_id(tenant: str, learner_id: str, **_: object) -> str:
        return showcase_id(tenant, learner_id)

    @event("Opened")
    def __init__(self, tenant: str, learner_id: str, slug: str, visibility: str) -> None:
        self.learner_id = learner_id
        self.slug = slug
        self.visibility = visibility

    @event("SlugChanged")
    def change_slug(self, slug: str, previous: str) -> None:
        self.slug = slug

    @event("VisibilityChanged")
    def change_visibility(self, visibility: str, previous: str) -> None:
        self.visibility = visibility


class ShowcaseSlug(HubAggregate):
    """Who holds a slug in a tenant (nobody once released, until claimed again)."""

    @staticmethod
    def create_id(tenant: str, slug: str, **_: object) -> str:
        return showcase_slug_id(tenant, slug)

    @event("Claimed")
    def __init__(self, tenant: str, slug: str, learner_id: str, visibility: str) -> None:
        self.slug = slug
        self.learner_id: str | None = learner_id
        self.visibility = visibility

    @event("Released")
    def release(self, learner_id: str) -> None:
        self.learner_id = None
        self.visibility = PRIVATE

    @event("Reclaimed")
    def reclaim(self, learner_id: str, visibility: str) -> None:
        self.learner_id = learner_id
        self.visibility = visibility

    @event("VisibilityChanged")
    def change_visibility(self, visibility: str) -> None:
        self.visibility = visibility
