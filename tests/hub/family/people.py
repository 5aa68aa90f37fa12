"""People the family tests record as the SSO sign-in would: a learner and their email index."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.application import Hub
from hub.domain.learners import EmailIndex, Learner

T0 = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)


def person(hub: Hub, tenant: str, key: str, *, role: str = "student", email: str = "") -> str:
    """A learner (student, parent, …) of `tenant` signed in from Spark; their id."""
    address = email or f"{key}@example.org"
    learner = Learner(
        tenant=tenant,
        source="spark",
        external_id=key,
        email=address,
        given_name=key.title(),
        family_name="Example",
        role=role,
    )
    index = EmailIndex(tenant=tenant, email=address, learner_id=learner.id)
    hub.save(learner, index)
    return str(learner.id)
