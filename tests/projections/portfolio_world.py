"""What the portfolio tests record: the hub's learners, quests and tasks, and the progress
connector's completions (its own `Progress` aggregate, saved by a plain application named
"progress", as the connector's would be)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application

from connectors.domain import Progress, progress_id
from hub.application import Hub
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from hub.domain.rules import calculate_xp, detect_pillar


class ProgressLog(Application[str]):
    """The `progress` application's log, written directly (no connector running)."""

    name = "progress"


@dataclass
class Positions:
    """The last position each application recorded: what `wait_for` waits for."""

    last: dict[str, int] = field(default_factory=dict)

    def saw(self, app: Application[Any], recordings: list[Any]) -> None:
        if recordings:
            self.last[app.name] = recordings[-1].notification.id


@dataclass
class World:
    """Records hub and progress events for tenants, keeping each application's position."""

    hub: Hub
    progress: ProgressLog
    positions: Positions = field(default_factory=Positions)

    def _save_hub(self, *aggregates: Any) -> None:
        self.positions.saw(self.hub, self.hub.save(*aggregates))

    def learner(self, tenant: str, spark_user: str, given: str = "Sam", family: str = "") -> str:
        learner = Learner(
            tenant=tenant,
            source="spark",
            external_id=spark_user,
            email=f"{spark_user}@example.org",
            given_name=given,
            family_name=family or spark_user.title(),
            role="student",
        )
        self._save_hub(learner)
        return str(learner.id)

    def profile(self, learner_id: str, given: str, family: str, email: str) -> None:
        learner: Learner = self.hub.repository.get(learner_id)
        learner.update_profile(email, given, family, "spark")
        self._save_hub(learner)

    def enrol(self, learner_id: str, quest_id: str, *, drop: bool = False) -> None:
        learner: Learner = self.hub.repository.get(learner_id)
        if drop:
            learner.drop(quest_id, "spark")
        else:
            learner.enrol(quest_id, "spark")
        self._save_hub(learner)

    def quest(self, tenant: str, course: str, title: str) -> str:
        """Sync (or update) a quest; its id."""
        details = {"title": f"Spark: {title}", "description": title}
        found = Quest.create_id(tenant, "spark", course)
        try:
            quest: Quest = self.hub.repository.get(found)
        except AggregateNotFoundError:
            quest = Quest(tenant=tenant, source="spark", external_id=course, details=details)
        else:
            quest.update(details)
        self._save_hub(quest)
        return str(quest.id)

    def task(self, tenant: str, quest_id: str, assignment: str, title: str, hours: float) -> str:
        """Sync (or update) a task with the seed's pillar and XP rules; its id."""
        details = {
            "title": title,
            "pillar": str(detect_pillar(title)),
            "xp": calculate_xp(hours),
        }
        found = Task.create_id(tenant, "spark", assignment)
        try:
            task: Task = self.hub.repository.get(found)
        except AggregateNotFoundError:
            task = Task(
                tenant=tenant,
                source="spark",
                external_id=assignment,
                quest_id=quest_id,
                details=details,
            )
        else:
            task.update(details)
        self._save_hub(task)
        return str(task.id)

    def complete(
        self,
        tenant: str,
        learner_id: str,
        task: Mapping[str, Any],
        files: list[str],
        *,
        text: str = "",
        submitted_at: str = "2025-01-15T14:30:00Z",
    ) -> None:
        """The progress connector's decision: a first completion, or a resubmission."""
        shown = {
            "learner_id": learner_id,
            "task_id": task["task_id"],
            "quest_id": task["quest_id"],
            "task_title": task["title"],
            "evidence": [evidence(name) for name in files],
            "evidence_rejected": [],
            "text": text,
            "submitted_at": submitted_at,
            "grade": None,
            "source": "spark",
            "submission_id": submission_of(tenant, learner_id, task["task_id"], submitted_at),
        }
        found = progress_id(tenant, learner_id)
        try:
            progress: Progress | None = self.progress.repository.get(found)
        except AggregateNotFoundError:
            progress = None
        if progress is not None and progress.has_completed(task["task_id"]):
            progress.resubmit(**shown)
        else:
            progress = Progress.record(
                progress,
                found,
                Progress.TaskCompleted,
                **shown,
                quest_title=task.get("quest_title"),
                pillar=task["pillar"],
                xp=task["xp"],
            )
        self.positions.saw(self.progress, self.progress.save(progress))


def submission_of(tenant: str, learner_id: str, task_id: str, submitted_at: str) -> str:
    key = f"{learner_id}|{task_id}|{submitted_at}".encode()
    return f"{tenant}.Submission.{hashlib.sha256(key).hexdigest()[:32]}"


def evidence(name: str) -> dict[str, Any]:
    """A stored file as the evidence connector describes it."""
    return {
        "index": 0,
        "filename": name,
        "type": "application/pdf" if name.endswith(".pdf") else "image/png",
        "origin": "url",
        "status": "stored",
        "blob": f"sha256-of-{name}",
        "size": 1234,
    }


def task_of(world: World, task_id: str, quest_title: str | None = None) -> dict[str, Any]:
    """What the progress connector reads of a task before completing it."""
    task: Task = world.hub.repository.get(task_id)
    return {
        "task_id": task_id,
        "quest_id": task.quest_id,
        "title": task.title,
        "pillar": task.pillar,
        "xp": task.xp,
        "quest_title": quest_title,
    }
