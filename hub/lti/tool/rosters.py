"""A platform course's NRPS roster turned into enrolments (the hub as tool).

Each active member is found as a launch finds them (identity from this platform, else
linked by email, else registered) and enrolled in the course's quest with source `lti`;
the members of the previous read who are no longer listed (or no longer active) are
dropped from it. Reading the same roster again changes nothing: a person already
enrolled is not enrolled twice, one not enrolled is not dropped. Each person is saved on
their own (with their identity and email index), so a large roster is no huge batch, and
a failure part way is repaired by the delivery's retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from hub.application import Hub
from hub.domain.base import HubAggregate
from hub.domain.learners import EmailIndex, Identity, Learner, identity_id
from hub.domain.lti_tool import SOURCE, PlatformRegistration, person_key
from hub.lti.tool.launches import link_or_register, local_role
from schemas.lti_tool import Member

ACTIVE = "active"


@dataclass(frozen=True)
class RosterApplied:
    enrolled: list[str]  # learner ids newly enrolled
    dropped: list[str]  # learner ids dropped
    registered: int  # people the hub did not know


def _get(hub: Hub, aggregate_id: str) -> HubAggregate | None:
    try:
        found: HubAggregate = hub.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


def _identity(hub: Hub, registration: PlatformRegistration, user_id: str) -> Learner | None:
    key = person_key(registration.issuer, registration.client_id, user_id)
    identity = _get(hub, identity_id(registration.tenant, SOURCE, key))
    if not isinstance(identity, Identity):
        return None
    learner = _get(hub, identity.learner_id)
    return learner if isinstance(learner, Learner) else None


def _enrol(
    hub: Hub, registration: PlatformRegistration, member: Member, quest_id: str
) -> tuple[str | None, bool]:
    """(the learner's id if newly enrolled, whether they were registered)."""
    learner = _identity(hub, registration, member.user_id)
    pending: list[HubAggregate] = []
    registered = False
    if learner is None:
        tenant = registration.tenant
        key = person_key(registration.issuer, registration.client_id, member.user_id)
        role = local_role(member.roles)
        learner, matched_by, email_free = link_or_register(
            hub, tenant, registration, member, key, role
        )
        registered = matched_by == "registered"
        pending.append(
            Identity(tenant=tenant, source=SOURCE, external_id=key, learner_id=learner.id)
        )
        if email_free:
            pending.append(EmailIndex(tenant=tenant, email=member.email, learner_id=learner.id))
    newly = not learner.is_enrolled(quest_id)
    if newly:
        learner.enrol(quest_id=quest_id, source=SOURCE)
    if learner.pending_events:
        hub.save(learner, *pending)
    return (learner.id if newly else None), registered


def apply_roster(
    hub: Hub,
    registration: PlatformRegistration,
    quest_id: str,
    members: Iterable[Member],
    previous: Iterable[str],
) -> RosterApplied:
    """Enrol the roster's active `members` in `quest_id`; drop the `previous` read's user ids
    that are no longer among them."""
    active = {m.user_id: m for m in members if m.status.lower() == ACTIVE}
    enrolled: list[str] = []
    registered = 0
    for member in active.values():
        newly, made = _enrol(hub, registration, member, quest_id)
        registered += made
        if newly is not None:
            enrolled.append(newly)
    dropped: list[str] = []
    for user_id in dict.fromkeys(previous):
        if user_id in active:
            continue
        learner = _identity(hub, registration, user_id)
        if learner is not None and learner.is_enrolled(quest_id):
            learner.drop(quest_id=quest_id, source=SOURCE)
            hub.save(learner)
            dropped.append(learner.id)
    return RosterApplied(enrolled, dropped, registered)
