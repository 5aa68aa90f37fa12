"""The LTI tool's commands: start a login, accept a verified launch. Blocking; callers verify.

    start_login     LtiLaunch.Initiated (state and nonce kept in the log, not in a cookie)
    accept_launch   LtiLaunch.Accepted (alone for a returning learner in a known course)
                    + what changed: Learner.Registered | IdentityLinked, ProfileUpdated,
                    Enrolled, Identity.Claimed, EmailIndex.Claimed, Quest.Synced | Updated,
                    LtiResourceLink.Mapped | Updated, LtiTaskLinks.Started | Linked

`accept_launch` commits everything at once: the launch consumed, the person, course and
link. A second launch with the same state conflicts on `LtiLaunch` and is a replay.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.base import HubAggregate, tenant_of
from hub.domain.learners import EmailIndex, Identity, Learner, email_index_id, identity_id
from hub.domain.lti_tool import (
    SOURCE,
    LtiLaunch,
    LtiResourceLink,
    LtiTaskLinks,
    PlatformRegistration,
    context_key,
    launch_id,
    person_key,
    resource_link_id,
    task_links_id,
)
from hub.domain.quests import Quest, Task, quest_id
from hub.lti.tool.known import Known, known_for
from schemas.lti_tool import LaunchClaims, LoginInitiation

ATTEMPTS = 5
HUB_TASK = "hub_task"  # the custom parameter our deep links carry
A = TypeVar("A", bound=HubAggregate)
# Seed 003 §5.4: the first role found in this order wins.
ROLE_PRECEDENCE = (
    ("Instructor", "instructor"),
    ("TeachingAssistant", "ta"),
    ("Learner", "student"),
    ("Student", "student"),
    ("Administrator", "admin"),
    ("Mentor", "observer"),
)


class StateReplayedError(Exception):
    """Raised when the login's state was consumed by another launch first."""


@dataclass(frozen=True)
class Login:
    state: str
    nonce: str
    position: int


@dataclass(frozen=True)
class LaunchResult:
    launch_id: str
    learner_id: str
    role: str
    matched_by: str
    quest_id: str | None
    task_id: str | None
    position: int
    events: tuple[str, ...]


def _get(hub: Hub, aggregate_id: str, _: type[A]) -> A | None:
    try:
        found: A = hub.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


def new_state(tenant: str) -> str:
    """A state that names its tenant, so one launch URL serves every tenant."""
    return f"{tenant}.{secrets.token_urlsafe(24)}"


def tenant_of_state(state: str) -> str:
    return state.split(".", 1)[0]


def start_login(
    hub: Hub, registration: PlatformRegistration, login: LoginInitiation, *, now: int
) -> Login:
    tenant = registration.tenant
    state, nonce = new_state(tenant), secrets.token_urlsafe(24)
    launch = LtiLaunch(
        tenant=tenant,
        state=state,
        nonce=nonce,
        registration_id=registration.id,
        issuer=registration.issuer,
        client_id=registration.client_id,
        login_hint=login.login_hint,
        target_link_uri=login.target_link_uri,
        lti_message_hint=login.lti_message_hint,
        deployment_id=login.lti_deployment_id or login.deployment_id,
        issued_at=now,
    )
    recordings = hub.save(launch)
    return Login(state, nonce, recordings[-1].notification.id)


def load_launch(hub: Hub, tenant: str, state: str) -> LtiLaunch | None:
    return _get(hub, launch_id(tenant, state), LtiLaunch)


def local_role(roles: list[str]) -> str:
    names = {role.rsplit("#", 1)[-1].rsplit("/", 1)[-1] for role in roles}
    for name, local in ROLE_PRECEDENCE:
        if name in names:
            return local
    return "student"


def accept_launch(
    hub: Hub,
    launch: LtiLaunch,
    registration: PlatformRegistration,
    claims: LaunchClaims,
    verified: dict[str, Any],
) -> LaunchResult:
    """Consume the login and record the launch; raises `StateReplayedError` on a replay."""
    known = known_for(hub)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _accept_once(_Unit(hub, known), launch, registration, claims, verified)
        except IntegrityError:
            known.clear()
            launch = hub.repository.get(launch.id)
            if launch.accepted:
                raise StateReplayedError(launch.id) from None
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _Unit:
    """One attempt: reads through what is known; what it changed, remembered once saved."""

    hub: Hub
    known: Known
    changed: list[HubAggregate] = field(default_factory=list)
    learned: dict[str, Any] = field(default_factory=dict)

    def get(self, aggregate_id: str, kind: type[A]) -> A | None:
        return _get(self.hub, aggregate_id, kind)

    def seen(self, aggregate_id: str, value: Any) -> bool:
        """Whether `aggregate_id` is known to hold `value` (to change nothing)."""
        return value is not None and self.known.get(aggregate_id) == value

    def learn(self, aggregate_id: str, value: Any) -> None:
        self.learned[aggregate_id] = value

    def save(self, *aggregates: HubAggregate | None) -> list[Any]:
        pending = [a for a in (*aggregates, *self.changed) if a is not None and a.pending_events]
        recordings = self.hub.save(*pending)
        for key, value in self.learned.items():
            self.known.put(key, value)
        return recordings


def _accept_once(
    unit: _Unit,
    launch: LtiLaunch,
    registration: PlatformRegistration,
    claims: LaunchClaims,
    verified: dict[str, Any],
) -> LaunchResult:
    tenant = registration.tenant
    role = local_role(claims.roles)
    quest = _course(unit, tenant, registration, claims)
    learner_id = _returning(unit, tenant, registration, claims, quest)
    learner: Learner | None = None
    matched_by = "identity"
    if learner_id is None:
        learner, matched_by = _person(unit, tenant, registration, claims, role)
        if quest is not None and not learner.is_enrolled(quest):
            learner.enrol(quest_id=quest, source=SOURCE)
        learner_id = learner.id
    unit.learn(f"{learner_id}\x1f{quest}", _profile(claims))
    task = _task_of(unit, tenant, claims)
    link = _resource_link(unit, registration, claims, quest, task)
    launch.accept(
        learner_id=learner_id,
        role=role,
        matched_by=matched_by,
        message_type=claims.message_type,
        quest_id=quest,
        resource_link=link,
        task_id=task,
        claims=claims.model_dump(mode="json", exclude_none=True),
        verified=verified,
    )
    recordings = unit.save(launch, learner)
    return LaunchResult(
        launch_id=launch.id,
        learner_id=learner_id,
        role=role,
        matched_by=matched_by,
        quest_id=quest,
        task_id=task,
        position=max(int(r.notification.id) for r in recordings),
        events=tuple(type(r.domain_event).__qualname__ for r in recordings),
    )


def _profile(claims: LaunchClaims) -> tuple[str, str, str]:
    return (claims.email, *person_names(claims))


def _returning(
    unit: _Unit,
    tenant: str,
    registration: PlatformRegistration,
    claims: LaunchClaims,
    quest: str | None,
) -> str | None:
    """The learner's id when this process saw them launch into `quest` with the same profile
    claims: enrolled, nothing to fill, so the learner need not be read (the hot path)."""
    key = person_key(registration.issuer, registration.client_id, claims.sub)
    points_at = unit.known.get(identity_id(tenant, SOURCE, key))
    if points_at is None or not unit.seen(f"{points_at}\x1f{quest}", _profile(claims)):
        return None
    return str(points_at)


def _person(
    unit: _Unit,
    tenant: str,
    registration: PlatformRegistration,
    claims: LaunchClaims,
    role: str,
) -> tuple[Learner, str]:
    """By identity; else by email (unless that person has an identity from this platform:
    two of its users sharing an address stay two people); else registered."""
    hub, changed = unit.hub, unit.changed
    key = person_key(registration.issuer, registration.client_id, claims.sub)
    the_identity = identity_id(tenant, SOURCE, key)
    points_at = unit.known.get(the_identity)
    if points_at is None:
        identity = unit.get(the_identity, Identity)
        points_at = identity.learner_id if identity is not None else None
    if points_at is not None:
        unit.learn(the_identity, points_at)
        learner: Learner = hub.repository.get(points_at)
        matched_by = "identity"
    else:
        learner, matched_by, email_free = link_or_register(
            hub, tenant, registration, claims, key, role
        )
        if email_free:
            changed.append(EmailIndex(tenant=tenant, email=claims.email, learner_id=learner.id))
        changed.insert(
            0, Identity(tenant=tenant, source=SOURCE, external_id=key, learner_id=learner.id)
        )
    filled = learner.completed_profile(claims.email, *person_names(claims))
    if filled is not None and matched_by != "registered":
        email, given_name, family_name = filled
        learner.update_profile(
            email=email, given_name=given_name, family_name=family_name, source=SOURCE
        )
        if email and _get(hub, email_index_id(tenant, email), EmailIndex) is None:
            changed.append(EmailIndex(tenant=tenant, email=email, learner_id=learner.id))
    return learner, matched_by


class Profile(Protocol):
    """What names a person: a launch's claims, or an NRPS member."""

    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def given_name(self) -> str: ...
    @property
    def family_name(self) -> str: ...


def person_names(claims: Profile) -> tuple[str, str]:
    if claims.given_name or claims.family_name or not claims.name:
        return claims.given_name, claims.family_name
    given, _, family = claims.name.partition(" ")
    return given, family


def link_or_register(  # noqa: PLR0917 - the roster's reader shares it
    hub: Hub,
    tenant: str,
    registration: PlatformRegistration,
    claims: Profile,
    key: str,
    role: str,
) -> tuple[Learner, str, bool]:
    """The person, how found, and whether the email is still free to claim for them."""
    index = _get(hub, email_index_id(tenant, claims.email), EmailIndex) if claims.email else None
    holder: Learner | None = None if index is None else hub.repository.get(index.learner_id)
    platform = f"{SOURCE}:{registration.issuer}|{registration.client_id}|"
    # The address's person, an observer too, is linked and takes on the launch's role (issue
    # 9); only an observer `Account` of before is not a learner to link (docs/accounts.md).
    if isinstance(holder, Learner) and not any(i.startswith(platform) for i in holder.identities):
        holder.link_identity(source=SOURCE, external_id=key, matched_by="email")
        holder.take_on_role(role, SOURCE)
        return holder, "email", False
    given_name, family_name = person_names(claims)
    learner = Learner(
        tenant=tenant,
        source=SOURCE,
        external_id=key,
        email=claims.email,
        given_name=given_name,
        family_name=family_name,
        role=role,
    )
    return learner, "registered", bool(claims.email) and index is None


def _course(
    unit: _Unit, tenant: str, registration: PlatformRegistration, claims: LaunchClaims
) -> str | None:
    """The platform's course (its LTI context) as a quest: created, or renamed, else as is."""
    if claims.context is None:
        return None
    key = context_key(
        registration.issuer, registration.client_id, claims.deployment_id, claims.context.id
    )
    details = {
        "title": claims.context.title or claims.context.label or claims.context.id,
        "label": claims.context.label or "",
        "issuer": registration.issuer,
        "client_id": registration.client_id,
        "deployment_id": claims.deployment_id,
        "context_id": claims.context.id,
    }
    the_id = quest_id(tenant, SOURCE, key)
    unit.learn(the_id, details)
    if unit.seen(the_id, details):
        return the_id
    quest = unit.get(the_id, Quest)
    if quest is None:
        quest = Quest(tenant=tenant, source=SOURCE, external_id=key, details=details)
    elif quest.details != details:
        quest.update(details=details)
    unit.changed.append(quest)
    return the_id


def _task_of(unit: _Unit, tenant: str, claims: LaunchClaims) -> str | None:
    """The hub task a deep-linked resource link opens: this tenant's, and known."""
    wanted = claims.custom.get(HUB_TASK)
    if not isinstance(wanted, str) or tenant_of(wanted) != tenant:
        return None
    if not unit.seen(wanted, True) and unit.get(wanted, Task) is None:
        return None
    unit.learn(wanted, True)  # tasks are never removed
    return wanted


def _resource_link(
    unit: _Unit,
    registration: PlatformRegistration,
    claims: LaunchClaims,
    quest: str | None,
    task: str | None,
) -> str | None:
    if claims.resource_link is None:
        return None
    tenant = registration.tenant
    ids = (registration.issuer, registration.client_id, claims.deployment_id)
    link_id = resource_link_id(tenant, *ids, claims.resource_link.id)
    ags = claims.ags
    values: dict[str, Any] = {
        "quest_id": quest,
        "task_id": task,
        "title": claims.resource_link.title or "",
        "lineitem": ags.lineitem if ags else None,
        "scopes": list(ags.scope) if ags else [],
    }
    unit.learn(link_id, values)
    if not unit.seen(link_id, values):
        link = unit.get(link_id, LtiResourceLink)
        if link is None:
            link = LtiResourceLink(
                tenant, *ids, claims.resource_link.id, registration_id=registration.id, **values
            )
        elif link.changes(**values):
            link.update(**values)
        unit.changed.append(link)
    if task is not None:
        _task_links(unit, tenant, task, link_id)
    return link_id


def _task_links(unit: _Unit, tenant: str, task: str, link_id: str) -> None:
    the_id = task_links_id(tenant, task)
    if link_id in (unit.known.get(the_id) or ()):
        return
    links = unit.get(the_id, LtiTaskLinks)
    if links is None:
        links = LtiTaskLinks(tenant=tenant, task_id=task, link=link_id)
    elif link_id not in links.links:
        links.link(link=link_id)
    unit.learn(the_id, tuple(links.links))
    unit.changed.append(links)
