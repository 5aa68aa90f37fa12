"""The roster in the hub's own terms: users become Learners, classes Quests, student
enrolments Learner enrolments, and `agentSourcedIds` guardian links (family's
`link_guardian`).

`roster-people` follows the `roster` log. A batch event holds up to 500 records, and
each user can take three aggregates (Learner, Identity, EmailIndex): more than one
atomic commit may hold, so this is not a process application committing a batch at
once. Each record is its own command instead, idempotent through deterministic ids
(a user already claimed, a quest already synced, a learner already enrolled records
nothing), and the position is tracked after each batch in the library's tracking
recorder: a restart repeats at most one batch, which then records nothing new.

A user is found by their identity (source system, sourcedId), else linked by email to
the learner who holds it (a Spark or LTI learner who signed in first), else registered
with the id `hub_id(tenant, system, "users", sourcedId)` maps to. Guardian links wait
until the import's `Finished` when the agent is not yet known (agents may come later in
the same file).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from contextlib import closing
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Tracking

from connectors.runner import UpstreamLog, run_under_lease
from hub.application import Hub
from hub.domain.base import EventContext, event_context, tenant_of
from hub.domain.learners import (
    OBSERVER,
    EmailIndex,
    Identity,
    Learner,
    email_index_id,
    identity_id,
    normalise_email,
)
from hub.domain.quests import Quest, quest_id
from hub.domain.roster import (
    SOURCE,
    RosterConflict,
    RosterEnrolment,
    RosterPrecedence,
    conflict_id,
    decode_rows,
    precedence_id,
    roster_enrolment_id,
)
from hub.family.commands import link_guardian
from hub.family.errors import FamilyError
from infra.lease import Lease

NAME = "roster-people"
UPSTREAM = "roster"
PAGE = 50
log = structlog.get_logger(__name__)
DEFAULT_ROLE = "student"
HUB_ROLES = {
    "student": "student",
    "teacher": "teacher",
    "counselor": "teacher",
    "aide": "ta",
    "proctor": "ta",
    "parent": "parent",
    "relative": "parent",
    "guardian": "guardian",
    "principal": "admin",
    "administrator": "admin",
    "siteAdministrator": "admin",
    "districtAdministrator": "admin",
    "systemAdministrator": "admin",
}
"""OneRoster 1.2 roles (roles.csv, enrollments.csv) -> hub roles (`schemas.lti.HUB_ROLE_URIS`)."""
ENROLLED_ROLES = frozenset({"student", "teacher"})
"""Enrolment roles that enrol the user in the class's quest (teachers for NRPS's Instructor)."""


class RosterPeople(Application[str]):
    """Holds the tracking position of `roster-people` and the enrolments it made
    (`RosterEnrolment`: its own log, so that an enrolment stays one single-event commit
    on the hub's)."""

    name = "roster_people"


def _get(hub: Application[str], aggregate_id: str) -> Any:
    try:
        return hub.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None


def person(hub: Hub, tenant: str, system: str, fields: Mapping[str, str]) -> str:
    """The learner id of a roster user: found, linked by email, or registered; a learner
    found is reconciled with the record (`reconcile`)."""
    sourced_id = fields["sourcedId"]
    identity = _get(hub, identity_id(tenant, system, sourced_id))
    if identity is not None:
        found: Learner = hub.repository.get(identity.learner_id)
        changed = reconcile(hub, found, system, fields)
        if changed:
            hub.save(*changed)
        return found.id
    email = normalise_email(fields.get("email", ""))
    index = _get(hub, email_index_id(tenant, email)) if "@" in email else None
    holder = _get(hub, index.learner_id) if index is not None else None
    # Only an observer `Account` of before is not a learner to link (docs/accounts.md).
    learner: Learner | None = holder if isinstance(holder, Learner) else None
    changed = []
    if learner is not None:
        learner.link_identity(system, sourced_id, "email")
        if learner.role == OBSERVER:  # a roster's user is a learner (issue 9: one person)
            learner.take_on_role(DEFAULT_ROLE, SOURCE)
        changed = [a for a in reconcile(hub, learner, system, fields) if a is not learner]
    else:
        learner = Learner(
            tenant,
            system,
            sourced_id,
            email,
            fields.get("givenName", ""),
            fields.get("familyName", ""),
            DEFAULT_ROLE,
        )
        if "@" in email and index is None:
            changed.append(EmailIndex(tenant, email, learner.id))
    changed += [learner, Identity(tenant, system, sourced_id, learner.id)]
    hub.save(*changed)
    return learner.id


def reconcile(hub: Hub, learner: Learner, system: str, fields: Mapping[str, str]) -> list[Any]:
    """Bring the learner's profile to the record's if the record's system may change it;
    the aggregates to save.

    The system that registered the learner owns its profile; another system that
    disagrees wins only if the tenant's precedence ranks it higher, and every
    disagreement with another system is reported (`RosterConflict`), never silently
    overwritten.
    """
    ours = {
        "email": normalise_email(fields.get("email", "")) or learner.email,
        "givenName": fields.get("givenName", "") or learner.given_name,
        "familyName": fields.get("familyName", "") or learner.family_name,
    }
    theirs = {
        "email": learner.email,
        "givenName": learner.given_name,
        "familyName": learner.family_name,
    }
    if ours == theirs:
        return []
    owner = learner.identities[0].split(":", 1)[0]
    tenant = learner.tenant
    precedence: RosterPrecedence | None = _get(hub, precedence_id(tenant))
    wins = owner == system or (
        precedence is not None and precedence.rank(system) < precedence.rank(owner)
    )
    changed: list[Any] = []
    if wins:
        learner.update_profile(ours["email"], ours["givenName"], ours["familyName"], system)
        changed.append(learner)
    if owner == system:
        return changed
    disagreement = {k: [theirs[k], ours[k]] for k in ours if ours[k] != theirs[k]}
    report: RosterConflict | None = _get(hub, conflict_id(tenant, learner.id, system))
    if report is None:
        changed.append(RosterConflict(tenant, learner.id, system, owner, disagreement, wins))
    elif report.fields != disagreement:
        report.change(owner, disagreement, wins)
        changed.append(report)
    return changed


def owned_by(learner: Learner, system: str) -> bool:
    """Whether `system` registered the learner (and so owns their profile and role)."""
    return learner.identities[0].split(":", 1)[0] == system


def assign_role(
    hub: Hub, tenant: str, system: str, sourced_id: str, role: str, *, only_from: str = ""
) -> None:
    """Give a user the hub role `role` if their source system registered them; with
    `only_from`, only while they hold that role (an enrolment's role does not override
    roles.csv's)."""
    identity = _get(hub, identity_id(tenant, system, sourced_id))
    if identity is None:
        return
    learner: Learner = hub.repository.get(identity.learner_id)
    if learner.role == role or not owned_by(learner, system):
        return
    if only_from and learner.role != only_from:
        return
    learner.change_role(role, SOURCE)
    hub.save(learner)


class RosterPolicy:
    """What each roster event means for the hub's learners, quests and guardians."""

    def __init__(self, hub: Hub, own: Application[str]) -> None:
        self.hub = hub
        self.own = own  # where the `RosterEnrolment`s are
        self.pending: dict[str, list[tuple[str, str, str]]] = {}

    def apply(self, event: Any) -> None:
        name = type(event).__qualname__
        if name == "RosterImport.RecordsApplied":
            tenant = tenant_of(event.originator_id)
            rows = [fields for _, fields in decode_rows(event.columns, event.rows)]
            handler = {
                "users": self._users,
                "roles": self._roles,
                "classes": self._classes,
                "enrollments": self._enrolments,
            }.get(event.entity)
            if handler is not None:
                handler(tenant, event.system, rows, event.originator_id)
            if event.entity == "enrollments":
                for sourced_id in event.deletes:
                    self._retrying(self._unenrol, tenant, event.system, sourced_id)
        elif name == "RosterImport.Finished":
            self._links(event.originator_id, final=True)

    def _retrying(self, command: Any, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(3):
            try:
                return command(*args, **kwargs)
            except IntegrityError:  # another writer claimed it first: decide again
                if attempt == 2:
                    raise
        return None  # pragma: no cover

    def _users(self, tenant: str, system: str, rows: Sequence[dict[str, str]], job: str) -> None:
        for fields in rows:
            self._retrying(person, self.hub, tenant, system, fields)
            for agent in fields.get("agentSourcedIds", "").split(","):
                if agent.strip():
                    self.pending.setdefault(job, []).append(
                        (system, agent.strip(), fields["sourcedId"])
                    )
        self._links(job, final=False)

    def _links(self, job: str, *, final: bool) -> None:
        tenant = tenant_of(job)
        left = []
        for system, agent, student in self.pending.pop(job, []):
            guardian = _get(self.hub, identity_id(tenant, system, agent))
            child = _get(self.hub, identity_id(tenant, system, student))
            if guardian is None or child is None:
                left.append((system, agent, student))
                continue
            self._retrying(
                assign_role, self.hub, tenant, system, agent, "parent", only_from=DEFAULT_ROLE
            )
            try:
                link_guardian(
                    self.hub,
                    tenant,
                    guardian.learner_id,
                    child.learner_id,
                    relationship="guardian",
                    source=SOURCE,
                )
            except FamilyError as error:
                log.warning("roster.guardian_refused", tenant=tenant, error=str(error))
        if left and not final:
            self.pending[job] = left
        elif left:
            log.warning("roster.guardians_unresolved", tenant=tenant, links=len(left))

    def _classes(self, tenant: str, system: str, rows: Sequence[dict[str, str]], _: str) -> None:
        for fields in rows:
            self._retrying(self._class, tenant, system, fields)

    def _class(self, tenant: str, system: str, fields: Mapping[str, str]) -> None:
        details = {
            "title": fields.get("title", ""),
            "classCode": fields.get("classCode", ""),
            "course": fields.get("courseSourcedId", ""),
            "school": fields.get("schoolSourcedId", ""),
        }
        quest: Quest | None = _get(self.hub, quest_id(tenant, system, fields["sourcedId"]))
        if quest is None:
            quest = Quest(tenant, system, fields["sourcedId"], details)
        elif quest.details != details:
            quest.update(details)
        else:
            return
        self.hub.save(quest)

    def _roles(self, tenant: str, system: str, rows: Sequence[dict[str, str]], _: str) -> None:
        for fields in rows:
            role = HUB_ROLES.get(fields.get("role", ""))
            if fields.get("roleType") == "primary" and role is not None:
                self._retrying(assign_role, self.hub, tenant, system, fields["userSourcedId"], role)

    def _enrolments(self, tenant: str, system: str, rows: Sequence[dict[str, str]], _: str) -> None:
        for fields in rows:
            if fields.get("role") in ENROLLED_ROLES:
                self._retrying(self._enrol, tenant, system, fields)
            else:  # an enrolment whose role no longer enrols ends what it enrolled
                self._retrying(self._unenrol, tenant, system, fields["sourcedId"])

    def _enrol(self, tenant: str, system: str, fields: Mapping[str, str]) -> None:
        """Enrol the record's user in its class's quest, remembering which enrolment the
        record made (`RosterEnrolment`); a record moved to another user or class first
        drops what it enrolled before. Teachers' role follows their enrolment."""
        user = fields["userSourcedId"]
        identity = _get(self.hub, identity_id(tenant, system, user))
        if identity is None:
            return
        if fields.get("role") == "teacher":
            assign_role(self.hub, tenant, system, user, "teacher", only_from=DEFAULT_ROLE)
        quest = quest_id(tenant, system, fields["classSourcedId"])
        record: RosterEnrolment | None = _get(
            self.own, roster_enrolment_id(tenant, system, fields["sourcedId"])
        )
        # Each step a commit of its own, in an order that a repeat after a crash completes.
        if record is None:
            record = RosterEnrolment(
                tenant, system, fields["sourcedId"], identity.learner_id, quest
            )
            self.own.save(record)
        elif not record.active or (record.learner_id, record.quest_id) != (
            identity.learner_id,
            quest,
        ):
            if record.active:
                self._drop(record)
            record.move(identity.learner_id, quest)
            self.own.save(record)
        learner: Learner = self.hub.repository.get(identity.learner_id)
        if not learner.is_enrolled(quest):
            learner.enrol(quest, SOURCE)
            self.hub.save(learner)

    def _unenrol(self, tenant: str, system: str, sourced_id: str) -> None:
        """Drop the enrolment the system's record `sourced_id` made, once; enrolments from
        elsewhere (and records this policy never enrolled) are left alone. The learner
        first: a repeat after a crash in between finds the record still active."""
        record: RosterEnrolment | None = _get(
            self.own, roster_enrolment_id(tenant, system, sourced_id)
        )
        if record is None or not record.active:
            return
        self._drop(record)
        record.end()
        self.own.save(record)

    def _drop(self, record: RosterEnrolment) -> None:
        learner: Learner = self.hub.repository.get(record.learner_id)
        if learner.is_enrolled(record.quest_id):
            learner.drop(record.quest_id, SOURCE)
            self.hub.save(learner)


def follow(env: Mapping[str, str], stop: threading.Event, lease: Lease | None = None) -> None:
    """Apply the roster log from the tracked position until `stop` is set."""
    with (
        closing(Hub(env=dict(env))) as hub,
        closing(UpstreamLog(UPSTREAM, env)) as upstream,
        closing(RosterPeople(env=dict(env))) as own,
    ):
        tracking = own.factory.tracking_recorder()
        policy = RosterPolicy(hub, own)
        position = tracking.max_tracking_id(UPSTREAM) or 0
        while not stop.is_set():
            page = upstream.recorder.select_notifications(
                position + 1, PAGE, inclusive_of_start=True
            )
            for notification in page:
                event = upstream.mapper.to_domain_event(notification)
                context = EventContext(
                    correlation_id=str(event.originator_id),
                    causation_id=str(notification.id),
                    source=SOURCE,
                    verified_by="roster-import",
                )
                with event_context(context):
                    policy.apply(event)
                tracking.insert_tracking(Tracking(UPSTREAM, notification.id))
                position = notification.id
                if lease is not None:
                    lease.keep()
            if not page:
                stop.wait(0.5)


def run_people(env: dict[str, str], stop: threading.Event) -> None:
    """`follow` under the lease `connector.roster-people`, for `connectors.registry`."""

    def work(lease: Lease) -> bool:
        follow(env, stop, lease)
        return True

    try:
        run_under_lease(NAME, env, stop, work)
    except Exception:
        log.exception("connector.crashed", connector=NAME)
