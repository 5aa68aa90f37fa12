"""The badges connector: a completion that meets a badge's rule records `BadgeEarned`, once.

`badges` follows `progress` (`Progress.TaskCompleted`, from every source: Spark now, LTI,
OneRoster and the hub's own quests later) and reads, read only: the tenant's `BadgeBook`
as it was when the completion was recorded (the rules in force then), the hub's quests,
and the learner's own `Progress` history up to that completion. So a completion is judged
the same however late it is processed, and on every replay. For each
active badge the learner has not earned it evaluates `hub.domain.badges.standing`; a
met rule records `LearnerBadge.BadgeEarned`, whose id is derived from tenant, learner
and badge: a badge cannot be earned twice, whatever is replayed, restarted or rebuilt.

A badge defined (or loosened) after a learner already meets it is earned at that
learner's next completion: the connector follows completions, not the badge book.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from connectors.domain import Progress, caused_by, progress_id
from connectors.runner import ProcessSpec, UpstreamLog, Upstreams
from hub.domain.badges import (
    BadgeBook,
    BadgeRule,
    Completion,
    LearnerBadge,
    QuestInfo,
    badge_book_id,
    badge_id,
    learner_badge_id,
    quest_task_ids,
    standing,
)
from hub.domain.base import event_context, tenant_of

NAME = "badges"
TASK_COMPLETED = get_topic(Progress.TaskCompleted)
log = structlog.get_logger(__name__)


class BadgeAwarder(EventSourcedProjection[str]):
    """The `badges` process application."""

    name = NAME
    topics = (TASK_COMPLETED,)

    def __init__(
        self, env: Mapping[str, str], *, hub: Application[Any], progress: Application[Any]
    ) -> None:
        super().__init__(dict(env))
        self.hub = hub
        self.progress = progress

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        completed: Any = domain_event
        if not isinstance(completed, Progress.TaskCompleted):
            return
        tenant = tenant_of(completed.learner_id)
        rules = [
            rule
            for rule in self._rules(tenant, completed.timestamp)
            if not self._earned(tenant, completed, rule)
        ]
        if not rules:
            return
        completions = self._completions(tenant, completed)
        quests = _Quests(self.hub)
        earned = []
        with event_context(caused_by(completed, source=NAME)):
            for rule in rules:
                if sum(c.xp for c in completions if c.pillar == rule.pillar) < rule.min_xp:
                    continue  # the cheap test first: no quest is read
                wanted = {c.quest_id for c in completions}
                wanted |= {course.quest_id(tenant) for course in rule.required}
                found = standing(rule, tenant, completions, quests.get(wanted))
                if found.met:
                    earned.append(
                        LearnerBadge.earn(
                            tenant,
                            completed.learner_id,
                            rule,
                            quests_done=found.quests_done,
                            xp_done=found.xp_done,
                            met_by=f"{completed.originator_id}@{completed.originator_version}",
                            earned_at=completed.timestamp.isoformat(),
                        )
                    )
        for badge in earned:
            log.info(
                "badges.earned",
                tenant_id=tenant,
                learner_id=completed.learner_id,
                badge=badge.badge_id,
            )
        processing_event.collect_events(*earned)

    def _rules(self, tenant: str, when: datetime) -> list[BadgeRule]:
        """The tenant's active badges as they were at `when`: a completion is judged by the
        rules in force when it happened, however late it is processed or replayed."""
        book: BadgeBook | None = None
        changes: Any = self.hub.repository.event_store.get(badge_book_id(tenant))
        for change in changes:
            if change.timestamp > when:
                break
            book = change.mutate(book)
        return [] if book is None else book.active()

    def _earned(self, tenant: str, completed: Any, rule: BadgeRule) -> bool:
        found = learner_badge_id(tenant, completed.learner_id, badge_id(tenant, rule.key))
        try:
            self.repository.get(found)
        except AggregateNotFoundError:
            return False
        return True

    def _completions(self, tenant: str, completed: Any) -> list[Completion]:
        """The learner's completions up to and including `completed`, from its own log."""
        history = self.progress.repository.event_store.get(
            progress_id(tenant, completed.learner_id), lte=completed.originator_version
        )
        return [
            Completion(e.task_id, e.quest_id, e.pillar, int(e.xp))
            for e in history
            if isinstance(e, Progress.TaskCompleted)
        ]


class _Quests:
    """The hub's quests, each read at most once per notification."""

    def __init__(self, hub: Application[Any]) -> None:
        self._hub = hub
        self._known: dict[str, QuestInfo | None] = {}

    def get(self, quest_ids: set[str]) -> dict[str, QuestInfo]:
        for quest in quest_ids - self._known.keys():
            try:
                found: Any = self._hub.repository.get(quest)
            except AggregateNotFoundError:
                self._known[quest] = None
                continue
            self._known[quest] = QuestInfo(
                quest_id=quest,
                source=found.source,
                title=str(found.details.get("title", "")),
                task_ids=quest_task_ids(quest, found.source, found.details),
            )
        return {q: info for q in quest_ids if (info := self._known[q]) is not None}


class _HubReading(BadgeAwarder):
    """The awarder with a reader of the hub's log of its own (it reads the hub, follows only
    `progress`), closed with it."""

    name = NAME  # the library names a subclass after itself otherwise

    def close(self) -> None:
        super().close()
        self.hub.close()


def build(env: Mapping[str, str], upstreams: Upstreams) -> BadgeAwarder:
    return _HubReading(env, hub=UpstreamLog("hub", env), progress=upstreams["progress"])


SPEC = ProcessSpec(NAME, build, upstreams=("progress",))
