"""The Spark ingress's commands: one function each, on the `hub` app, with verified plain values.

Each decides from what the log holds and records its events in one save: one message
for a submission (the hot path), one atomic batch for a sign-in that creates or links a
learner. Callers verify first (signature, token, body) and set the `event_context`.

    sign_in               SsoToken.Accepted (the sign-in: learner, claims; alone for a
                          returning learner) + what changed of the learner: Registered |
                          IdentityLinked, ProfileUpdated, Enrolled*, Identity.Claimed,
                          EmailIndex.Claimed
    record_submission     Submission.Received
    record_roster_change  Learner.Enrolled | Learner.Dropped (+ Registered, Identity.Claimed)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.base import HubAggregate
from hub.domain.learners import EmailIndex, Identity, Learner, email_index_id, identity_id
from hub.domain.quests import quest_id
from hub.domain.spark import SsoToken, sso_token_id
from hub.domain.submissions import RECEIVED_TOPIC, Submission, received_state
from infra.errors import NatsUnavailableError
from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.jetstream.wire import AckLostError
from schemas.spark import RosterWebhook, SsoClaims, SubmissionWebhook

SOURCE = "spark"
# Optimistic concurrency: each round of a race lets at least one writer through, so this
# many attempts see through that many sign-ins of one learner at the same moment.
ATTEMPTS = 5
A = TypeVar("A", bound=HubAggregate)


class TokenReplayedError(Exception):
    """Raised when an SSO token (its nonce, or its hash) was already accepted."""


@dataclass(frozen=True)
class SignInResult:
    learner_id: str
    position: int
    matched_by: str  # "identity", "email" or "registered"
    enrolled: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()  # every role the person holds (an observer's too)


@dataclass(frozen=True)
class SubmissionResult:
    submission_id: str
    position: int
    duplicate: bool = False


@dataclass(frozen=True)
class RosterResult:
    learner_id: str
    quest_id: str
    action: str
    changed: bool
    position: int | None = None
    events: tuple[str, ...] = field(default=())


def _get(hub: Hub, aggregate_id: str, _: type[A]) -> A | None:
    try:
        found: A = hub.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


def _position(recordings: list[Any]) -> int:
    return max(int(recording.notification.id) for recording in recordings)


# -- SSO -----------------------------------------------------------------------------------


def sign_in(
    hub: Hub, tenant: str, claims: SsoClaims, *, token_key: str, token_sha256: str
) -> SignInResult:
    """Accept a verified token once; find, link or register its learner; enrol them.

    Two first sign-ins racing create one learner: the loser's commit conflicts, and the
    command runs again on what the winner wrote (a conflict on the token is a replay).
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _sign_in_once(hub, tenant, claims, token_key, token_sha256)
        except IntegrityError:
            if sso_token_id(tenant, token_key) in hub.repository:
                raise TokenReplayedError(token_key) from None
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _sign_in_once(
    hub: Hub, tenant: str, claims: SsoClaims, token_key: str, token_sha256: str
) -> SignInResult:
    learner, claimed, matched_by = _find_link_or_register(hub, tenant, claims)
    claimed += _refresh_profile(hub, tenant, learner, claims)
    enrolled = _enrol(learner, tenant, claims.spark_course_ids)
    verified = {**claims.model_dump(mode="json"), "token_sha256": token_sha256}
    token = SsoToken(
        tenant=tenant,
        token_key=token_key,
        subject=claims.sub,
        expires_at=claims.exp,
        learner_id=learner.id,
        matched_by=matched_by,
        claims=verified,
    )
    changed = [aggregate for aggregate in (learner, *claimed) if aggregate.pending_events]
    # A returning learner with nothing new: one event, one message (the fast path).
    # Otherwise the token and the learner's changes commit together (one atomic batch).
    recordings = hub.save(token, *changed)
    return SignInResult(learner.id, _position(recordings), matched_by, enrolled, learner.roles)


def _find_link_or_register(
    hub: Hub,
    tenant: str,
    claims: SsoClaims,
) -> tuple[Learner, list[HubAggregate], str]:
    """By Identity, else by email (unless that person already has a Spark identity: two
    Spark users sharing an address, a family's say, stay two people), else registered."""
    identity = _get(hub, identity_id(tenant, SOURCE, claims.sub), Identity)
    if identity is not None:
        learner: Learner = hub.repository.get(identity.learner_id)
        return learner, [], "identity"
    claimed: list[HubAggregate] = []
    index = _get(hub, email_index_id(tenant, claims.email), EmailIndex)
    holder: Learner | None = None if index is None else hub.repository.get(index.learner_id)
    # The address's person, an observer too, is linked and takes on the token's role (issue
    # 9). Only an observer `Account` opened before observers were learners is not a learner
    # to link: the Spark identity gets a learner of its own (docs/accounts.md).
    if isinstance(holder, Learner) and not _has_identity_from(holder, SOURCE):
        learner = holder
        learner.link_identity(source=SOURCE, external_id=claims.sub, matched_by="email")
        learner.take_on_role(claims.role, SOURCE)
        matched_by = "email"
    else:
        learner = Learner(
            tenant=tenant,
            source=SOURCE,
            external_id=claims.sub,
            email=claims.email,
            given_name=claims.given_name,
            family_name=claims.family_name,
            role=claims.role,
        )
        if index is None:
            claimed.append(EmailIndex(tenant=tenant, email=claims.email, learner_id=learner.id))
        matched_by = "registered"
    claimed.insert(
        0, Identity(tenant=tenant, source=SOURCE, external_id=claims.sub, learner_id=learner.id)
    )
    return learner, claimed, matched_by


def _refresh_profile(
    hub: Hub, tenant: str, learner: Learner, claims: SsoClaims
) -> list[HubAggregate]:
    """Fill what the learner's profile lacks from the token (a learner first seen on a
    roster has no name or email); claim the email for them if nobody holds it yet."""
    filled = learner.completed_profile(claims.email, claims.given_name, claims.family_name)
    if filled is None:
        return []
    email, given_name, family_name = filled
    learner.update_profile(
        email=email, given_name=given_name, family_name=family_name, source=SOURCE
    )
    if _get(hub, email_index_id(tenant, email), EmailIndex) is not None:
        return []
    return [EmailIndex(tenant=tenant, email=email, learner_id=learner.id)]


def _has_identity_from(learner: Learner, source: str) -> bool:
    return any(identity.startswith(f"{source}:") for identity in learner.identities)


def _enrol(learner: Learner, tenant: str, course_ids: list[str]) -> tuple[str, ...]:
    """Enrol in each course's quest (known or not yet synced) not already enrolled in."""
    enrolled: list[str] = []
    for course_id in dict.fromkeys(course_ids):
        quest = quest_id(tenant, SOURCE, course_id)
        if not learner.is_enrolled(quest):
            learner.enrol(quest_id=quest, source=SOURCE)
            enrolled.append(quest)
    return tuple(enrolled)


# -- submissions ---------------------------------------------------------------------------


def utc_iso(moment: datetime) -> str:
    """One spelling per instant, so a retry with `Z` or `+00:00` is the same submission."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


def _submission_fields(
    tenant: str, webhook: SubmissionWebhook, files: list[dict[str, Any]], verified: dict[str, Any]
) -> tuple[str, str, str, str, str, str, str, list[dict[str, Any]], float | None, dict[str, Any]]:
    """`Submission`'s arguments, in order, for a webhook."""
    return (
        tenant,
        SOURCE,
        webhook.spark_user_id,
        webhook.spark_assignment_id,
        utc_iso(webhook.submitted_at),
        webhook.spark_course_id,
        webhook.submission_text,
        files,
        webhook.grade,
        verified,
    )


def _submission(
    tenant: str, webhook: SubmissionWebhook, files: list[dict[str, Any]], verified: dict[str, Any]
) -> Submission:
    return Submission(*_submission_fields(tenant, webhook, files, verified))


def record_submission(
    hub: Hub,
    tenant: str,
    webhook: SubmissionWebhook,
    *,
    files: list[dict[str, Any]],
    verified: dict[str, Any],
) -> SubmissionResult:
    """Record `Submission.Received`; a redelivery answers with the first recording."""
    submission = _submission(tenant, webhook, files, verified)
    try:
        recordings = hub.save(submission)
    except IntegrityError:
        return _redelivered(hub, submission.id)
    return SubmissionResult(submission.id, _position(recordings))


async def record_submission_async(
    hub: Hub,
    tenant: str,
    webhook: SubmissionWebhook,
    *,
    files: list[dict[str, Any]],
    verified: dict[str, Any],
) -> SubmissionResult:
    """`record_submission` on the event loop: the one event is awaited, no thread hop.

    The event is mapped straight from its state (`received_state`), not through the
    aggregate: the same stored bytes, a fraction of the CPU.
    """
    aggregate_id, state = received_state(*_submission_fields(tenant, webhook, files, verified))
    try:
        position = await hub.record_new_async(aggregate_id, RECEIVED_TOPIC, state)
        if position is None:  # a hub that cannot commit on the loop: the aggregate's way
            submission = _submission(tenant, webhook, files, verified)
            position = _position(await hub.save_async(submission))
    except IntegrityError:
        return await asyncio.to_thread(_redelivered, hub, aggregate_id)
    return SubmissionResult(aggregate_id, position)


def _redelivered(hub: Hub, submission_id: str) -> SubmissionResult:
    first = first_position(hub, submission_id)
    if first is None:
        raise IntegrityError(f"{submission_id} conflicted but has no first event")
    return SubmissionResult(submission_id, first, duplicate=True)


def first_position(hub: Hub, aggregate_id: str) -> int | None:
    """The log position of an aggregate's first event, or None if it has none."""
    recorder = hub.recorder
    if isinstance(recorder, JetStreamApplicationRecorder):
        subject = recorder.subjects.event(aggregate_id)
        wire = recorder.wire
        try:
            msgs, _ = recorder.connection.run(
                lambda: wire.direct_batch(recorder.stream, seq=1, subject=subject, batch=1)
            )
        except AckLostError as error:
            msg = f"NATS did not answer a read: {error}"
            raise NatsUnavailableError(msg) from error
        return msgs[0].seq if msgs else None
    start = 1  # another recorder (tests in memory): scan the notification log
    while notifications := recorder.select_notifications(start, 1000):
        for notification in notifications:
            if notification.originator_id == aggregate_id:
                return notification.id
        start = notifications[-1].id + 1
    return None


# -- roster --------------------------------------------------------------------------------


def record_roster_change(hub: Hub, tenant: str, roster: RosterWebhook) -> RosterResult:
    """Enrol or drop; an unknown learner is registered from the Spark user id alone.

    Idempotent: enrolling an enrolled learner or dropping one not enrolled records nothing.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _roster_once(hub, tenant, roster)
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _roster_once(hub: Hub, tenant: str, roster: RosterWebhook) -> RosterResult:
    quest = quest_id(tenant, SOURCE, roster.spark_course_id)
    identity = _get(hub, identity_id(tenant, SOURCE, roster.spark_user_id), Identity)
    claimed: list[HubAggregate] = []
    if identity is not None:
        learner: Learner = hub.repository.get(identity.learner_id)
    elif roster.action == "drop":
        unknown = Learner.create_id(tenant, SOURCE, roster.spark_user_id)
        return RosterResult(unknown, quest, roster.action, changed=False)
    else:
        learner = Learner(
            tenant=tenant,
            source=SOURCE,
            external_id=roster.spark_user_id,
            email="",
            given_name="",
            family_name="",
            role="student",
        )
        claimed.append(
            Identity(
                tenant=tenant,
                source=SOURCE,
                external_id=roster.spark_user_id,
                learner_id=learner.id,
            )
        )
    if roster.action == "enroll" and not learner.is_enrolled(quest):
        learner.enrol(quest_id=quest, source=SOURCE)
    elif roster.action == "drop" and learner.is_enrolled(quest):
        learner.drop(quest_id=quest, source=SOURCE)
    else:
        return RosterResult(learner.id, quest, roster.action, changed=False)
    recordings = hub.save(learner, *claimed)
    names = tuple(type(r.domain_event).__qualname__ for r in recordings)
    return RosterResult(
        learner.id, quest, roster.action, changed=True, position=_position(recordings), events=names
    )
