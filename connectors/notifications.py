"""The `notifications` process application: achievements reach parents and observers.

It follows the hub (family events: who watches whom; comments), `progress`
(`Progress.TaskCompleted`) and, when the badges feature is installed, `badges`
(`LearnerBadge.BadgeEarned`, matched by topic, so nothing of it is imported). For each
achievement and each watcher whose `NotificationPreferences` ask for that kind, it
records one `Inbox.Notified` on the watcher's inbox, keyed by the achievement's event
(id@version): a notification is recorded once, however often the event is processed.
The `outbox` connector emails those whose channels include email.

A comment reply is a comment on a task that the recipient commented on before.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from connectors.domain import ConnectorAggregate, Progress, caused_by, topic_of
from connectors.progress import NAME as PROGRESS
from connectors.runner import ProcessSpec, Upstreams
from hub.domain.base import aggregate_id, event_context, tenant_of
from hub.domain.guardians import Guardianship
from hub.domain.notifications import (
    BADGE_EARNED,
    COMMENT_REPLY,
    DEFAULT_CHOICE,
    TASK_COMPLETED,
    inbox_id,
    preferences_id,
)
from hub.domain.observers import ObserverCircle, circle_id

NAME = "notifications"
BADGES = "badges"
BADGE_TOPIC = "hub.domain.badges:LearnerBadge.BadgeEarned"
LINKED = topic_of(Guardianship, "Linked")
RELINKED = topic_of(Guardianship, "Relinked")
UNLINKED = topic_of(Guardianship, "Unlinked")
ACCEPTED = topic_of(ObserverCircle, "InvitationAccepted")
REMOVED = topic_of(ObserverCircle, "ObserverRemoved")
COMMENTED = topic_of(ObserverCircle, "CommentLeft")
COMPLETED = get_topic(Progress.TaskCompleted)
log = structlog.get_logger(__name__)


def badges_installed() -> bool:
    """Whether the badges feature (its events' module) is part of this hub."""
    return importlib.util.find_spec("hub.domain.badges") is not None


def watchers_id(tenant: str, learner_id: str) -> str:
    return aggregate_id(tenant, "Watchers", learner_id)


class Watchers(ConnectorAggregate):
    """A learner's parents and observers (person id -> role), as the family events say."""

    def __init__(self) -> None:
        self.people: dict[str, str] = {}

    @dataclass(frozen=True)
    class Changed(ConnectorAggregate.Opening):
        learner_id: str
        person_id: str
        role: str  # "" when the person stopped watching

        def apply(self, aggregate: Any) -> None:
            watchers: Watchers = aggregate
            if not hasattr(watchers, "people"):
                watchers.people = {}
            if self.role:
                watchers.people[self.person_id] = self.role
            else:
                watchers.people.pop(self.person_id, None)


class Inbox(ConnectorAggregate):
    """One person's notifications, by what caused each."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.causes: set[str] = set()

    @dataclass(frozen=True)
    class Notified(ConnectorAggregate.Opening):
        recipient_id: str
        learner_id: str
        kind: str
        cause: str
        channels: list[str]
        email: str
        title: str
        text: str
        at: str

        def apply(self, aggregate: Any) -> None:
            inbox: Inbox = aggregate
            if not hasattr(inbox, "items"):
                inbox.items, inbox.causes = [], set()
            inbox.causes.add(self.cause)
            inbox.items.append(
                {
                    "kind": self.kind,
                    "learner_id": self.learner_id,
                    "title": self.title,
                    "text": self.text,
                    "channels": list(self.channels),
                    "at": self.at,
                    "cause": self.cause,
                }
            )

    def has(self, cause: str) -> bool:
        return cause in self.causes


@dataclass(frozen=True)
class Achievement:
    """What happened to a learner, as a notification tells it."""

    tenant: str
    learner_id: str
    kind: str
    cause: str
    title: str
    text: str


class Notifier(EventSourcedProjection[str]):
    """The `notifications` process application."""

    name = NAME

    def __init__(self, env: Mapping[str, str], *, hub: Application[Any], badges: bool) -> None:
        self.topics = (LINKED, RELINKED, UNLINKED, ACCEPTED, REMOVED, COMMENTED, COMPLETED) + (
            (BADGE_TOPIC,) if badges else ()
        )
        super().__init__(dict(env))
        self.hub = hub

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        topic = get_topic(type(domain_event))
        happened: Any = domain_event
        tenant = tenant_of(happened.originator_id)
        loaded: dict[str, Any] = {}
        with event_context(caused_by(happened, source=NAME)):
            if topic in {LINKED, RELINKED}:
                self._watch(loaded, tenant, happened.student_id, happened.guardian_id, "parent")
            elif topic == UNLINKED:
                self._watch(loaded, tenant, happened.student_id, happened.guardian_id, "")
            elif topic == ACCEPTED:
                self._watch(loaded, tenant, happened.student_id, happened.observer_id, "observer")
            elif topic == REMOVED:
                self._watch(loaded, tenant, happened.student_id, happened.observer_id, "")
            else:
                for recipient, achievement in self._achievements(topic, tenant, happened):
                    self._record_notice(loaded, recipient, achievement, happened)
        processing_event.collect_events(
            *[a for a in loaded.values() if a is not None and a.pending_events]
        )

    def _load(self, loaded: dict[str, Any], found_id: str) -> Any:
        if found_id not in loaded:
            loaded[found_id] = self._get(self, found_id)
        return loaded[found_id]

    @staticmethod
    def _get(app: Application[Any], found_id: str) -> Any:
        try:
            return app.repository.get(found_id)
        except AggregateNotFoundError:
            return None

    def _watch(
        self, loaded: dict[str, Any], tenant: str, learner: str, person: str, role: str
    ) -> None:
        key = watchers_id(tenant, learner)
        existing = self._load(loaded, key)
        if (existing.people.get(person, "") if existing else "") == role:
            return
        loaded[key] = Watchers.record(
            existing, key, Watchers.Changed, learner_id=learner, person_id=person, role=role
        )

    def _name(self, learner_id: str) -> str:
        learner = self._get(self.hub, learner_id)
        return str(getattr(learner, "display_name", "")) or "Your learner"

    def _achievements(
        self, topic: str, tenant: str, happened: Any
    ) -> list[tuple[str, Achievement]]:
        """(recipient, achievement) pairs for an achievement event."""
        cause = f"{happened.originator_id}@{happened.originator_version}"
        if topic == COMMENTED:
            return self._comment_replies(tenant, happened, cause)
        learner = happened.learner_id
        name = self._name(learner)
        if topic == COMPLETED:
            done = Achievement(
                tenant,
                learner,
                TASK_COMPLETED,
                cause,
                f"{name} completed {happened.task_title}",
                f"+{happened.xp} XP in {happened.pillar}",
            )
        else:
            done = Achievement(
                tenant,
                learner,
                BADGE_EARNED,
                cause,
                f"{name} earned the {happened.name} badge",
                f"A {happened.pillar} badge.",
            )
        watchers = self._get(self, watchers_id(tenant, learner))
        people = sorted(watchers.people) if watchers is not None else []
        return [(person, done) for person in people]

    def _comment_replies(
        self, tenant: str, happened: Any, cause: str
    ) -> list[tuple[str, Achievement]]:
        circle = self._get(self.hub, circle_id(tenant, happened.student_id))
        earlier = [] if circle is None else circle.comments
        repliers = sorted(
            {
                c["observer_id"]
                for c in earlier
                if c["task_id"] == happened.task_id
                and c["observer_id"] != happened.observer_id
                and c["comment_id"] != happened.comment_id
            }
        )
        author = self._get(self.hub, happened.observer_id)
        by = str(getattr(author, "name", "") or getattr(author, "display_name", "")) or "Someone"
        reply = Achievement(
            tenant,
            happened.student_id,
            COMMENT_REPLY,
            cause,
            f"{by} replied on {self._name(happened.student_id)}'s work",
            happened.text[:280],
        )
        return [(person, reply) for person in repliers]

    def _record_notice(
        self, loaded: dict[str, Any], recipient: str, done: Achievement, happened: Any
    ) -> None:
        preferences = self._get(self.hub, preferences_id(done.tenant, recipient))
        choice = DEFAULT_CHOICE if preferences is None else preferences.choice
        channels = list(choice.get(done.kind, []))
        key = inbox_id(done.tenant, recipient)
        inbox = self._load(loaded, key)
        if not channels or (inbox is not None and inbox.has(done.cause)):
            return
        person = self._get(self.hub, recipient)
        loaded[key] = Inbox.record(
            inbox,
            key,
            Inbox.Notified,
            recipient_id=recipient,
            learner_id=done.learner_id,
            kind=done.kind,
            cause=done.cause,
            channels=channels,
            email=str(getattr(person, "email", "")),
            title=done.title,
            text=done.text,
            at=happened.timestamp.isoformat(),
        )
        log.info(
            "notifications.notified",
            tenant_id=done.tenant,
            kind=done.kind,
            recipient_id=recipient,
            channels=channels,
        )


def build(env: Mapping[str, str], upstreams: Upstreams) -> Notifier:
    return Notifier(env, hub=upstreams["hub"], badges=BADGES in upstreams)


def spec() -> ProcessSpec:
    upstreams = ("hub", PROGRESS) + ((BADGES,) if badges_installed() else ())
    return ProcessSpec(NAME, build, upstreams=upstreams)


SPEC = spec()
