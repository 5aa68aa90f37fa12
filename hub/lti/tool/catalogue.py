"""The hub's resources a teacher can pick in Deep Linking: quests and their tasks.

`Catalogue` is a port (tenant -> quests with tasks). `log_catalogue` reads the hub's
quest and task events from the log: correct at any moment, fine for a teacher's picker
page; a read model can replace it through `install_lti_tool(catalogue=...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from hub.domain.base import tenant_of
from hub.domain.quests import Quest, Task

PAGE = 500


@dataclass
class TaskEntry:
    id: str
    title: str
    max_points: float | None


@dataclass
class QuestEntry:
    id: str
    title: str
    tasks: list[TaskEntry] = field(default_factory=list)


Catalogue = Callable[[str], list[QuestEntry]]


def _topics() -> list[str]:
    return [get_topic(vars(cls)[name]) for cls in (Quest, Task) for name in ("Synced", "Updated")]


def log_catalogue(app: Application[str]) -> Catalogue:
    """A catalogue that folds `Quest`/`Task` `Synced`/`Updated` events of the tenant."""
    topics = _topics()

    def catalogue(tenant: str) -> list[QuestEntry]:
        quests: dict[str, QuestEntry] = {}
        tasks: dict[str, tuple[str, dict[str, Any]]] = {}
        start: int | None = None
        while True:
            page = app.recorder.select_notifications(
                start, PAGE, topics=topics, inclusive_of_start=False
            )
            for notification in page:
                originator = str(notification.originator_id)
                if tenant_of(originator) != tenant:
                    continue
                event: Any = app.mapper.to_domain_event(notification)
                details = dict(event.details)
                if originator.split(".")[1] == "Quest":
                    title = str(details.get("title") or event.originator_id)
                    quests.setdefault(event.originator_id, QuestEntry(event.originator_id, title))
                    quests[event.originator_id].title = title
                else:
                    quest = getattr(event, "quest_id", None) or tasks[event.originator_id][0]
                    tasks[event.originator_id] = (quest, details)
            if len(page) < PAGE:
                break
            start = page[-1].id
        for task, (quest, details) in sorted(tasks.items()):
            entry = quests.setdefault(quest, QuestEntry(quest, quest))
            points = details.get("max_points")
            entry.tasks.append(
                TaskEntry(
                    task, str(details.get("title") or task), float(points) if points else None
                )
            )
        return sorted(quests.values(), key=lambda q: (q.title, q.id))

    return catalogue
