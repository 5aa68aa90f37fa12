"""What the Caliper tests record on the hub's side: tenants, sign-ins, submissions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.caliper_stream import CaliperStream, Published
from hub.application import Hub
from hub.caliper.settings import CaliperConfig, configure_caliper
from hub.domain.learners import Identity, Learner
from hub.domain.quests import Quest, Task
from hub.domain.spark import SsoToken
from hub.domain.submissions import Submission
from infra.secrets import SecretBox
from tests.connectors.world import wait_for

KEY_TEXT = "the caliper tests' key"
BOX = SecretBox.from_text(KEY_TEXT)
TENANT = "acme"
COURSE = "c-bio"


def tenant(hub: Hub, slug: str = TENANT, **config: Any) -> str:
    """A registered tenant with Caliper configured (`config`: `CaliperConfig` fields)."""
    if hub.tenant(slug) is None:
        hub.register_tenant(slug, slug.title(), BOX)
    configure_caliper(hub, BOX, slug, CaliperConfig(**config))
    return slug


def learner(hub: Hub, user: str, *, slug: str = TENANT, given: str = "Sam") -> str:
    """A learner first seen through Spark as `user` (email `<user>@example.org`); their id."""
    person = Learner(
        tenant=slug,
        source="spark",
        external_id=user,
        email=f"{user}@example.org",
        given_name=given,
        family_name=f"Fam{user}",
        role="student",
    )
    identity = Identity(tenant=slug, source="spark", external_id=user, learner_id=person.id)
    hub.save(person, identity)
    return str(person.id)


def task(hub: Hub, assignment: str, *, slug: str = TENANT, **details: Any) -> str:
    quest = Quest(tenant=slug, source="spark", external_id=COURSE, details={"title": "Biology"})
    item = Task(
        tenant=slug,
        source="spark",
        external_id=assignment,
        quest_id=quest.id,
        details={"title": assignment.title(), "pillar": "science", "xp": 10, **details},
    )
    hub.save(quest, item)
    return str(item.id)


def sign_in(hub: Hub, learner_id: str, user: str, *, slug: str = TENANT, nonce: str = "n1") -> str:
    """`SsoToken.Accepted` as the SSO handler records it; its aggregate id."""
    token = SsoToken(
        tenant=slug,
        token_key=nonce,
        subject=user,
        expires_at=2_000_000_000,
        learner_id=learner_id,
        matched_by="identity",
        claims={
            "sub": user,
            "email": f"{user}@example.org",
            "given_name": "Sam",
            "family_name": f"Fam{user}",
            "role": "student",
        },
    )
    hub.save(token)
    return str(token.id)


def submit(
    hub: Hub,
    user: str,
    assignment: str = "a-essay",
    *,
    slug: str = TENANT,
    grade: float | None = None,
    submitted_at: str = "2025-01-15T14:30:00+00:00",
) -> str:
    """`Submission.Received` as the webhook records it; the submission's id."""
    submission = Submission(
        tenant=slug,
        source="spark",
        learner_key=user,
        assignment_key=assignment,
        submitted_at=submitted_at,
        course_key=COURSE,
        text="My essay.",
        files=[],
        grade=grade,
        verified={"signature": "hmac-sha256", "body": {}},
    )
    hub.save(submission)
    return str(submission.id)


def on_stream(stream: CaliperStream, count: int, *, tenant: str = "*") -> list[Published]:
    """The first `count` envelopes on the stream (waits for them)."""

    def enough() -> list[Published] | None:
        found = stream.read(0, limit=10_000, tenant=tenant)
        return found if len(found) >= count else None

    return wait_for(enough, f"{count} envelopes on the Caliper stream")


def now() -> datetime:
    return datetime.now(UTC)
