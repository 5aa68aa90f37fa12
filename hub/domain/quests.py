"""Quests and their tasks: synced from Spark courses and assignments, or the hub's own."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def quest_id(tenant: str, source: str, external_id: str) -> str:
    return aggregate_id(tenant, "Quest", source, external_id)


def task_id(tenant: str, source: str, external_id: str) -> str:
    return aggregate_id(tenant, "Task", source, external_id)


class Quest(HubAggregate):
    """A course of work (a Spark course, an LTI context, a OneRoster class, or the hub's own)."""

    @staticmethod
    def create_id(tenant: str, source: str, external_id: str, **_: object) -> str:
        return quest_id(tenant, source, external_id)

    @event("Synced")
    def __init__(self, tenant: str, source: str, external_id: str, details: dict[str, Any]) -> None:
        self.source = source
        self.external_id = external_id
        self.details = details

    @event("Updated")
    def update(self, details: dict[str, Any]) -> None:
        self.details = details


class Task(HubAggregate):
    """One piece of work in a quest, with its pillar and XP."""

    @staticmethod
    def create_id(tenant: str, source: str, external_id: str, **_: object) -> str:
        return task_id(tenant, source, external_id)

    @event("Synced")
    def __init__(
        self, tenant: str, source: str, external_id: str, quest_id: str, details: dict[str, Any]
    ) -> None:
        self.source = source
        self.external_id = external_id
        self.quest_id = quest_id
        self.details = details

    @event("Updated")
    def update(self, details: dict[str, Any]) -> None:
        self.details = details

    @property
    def title(self) -> str:
        return str(self.details.get("title", ""))

    @property
    def pillar(self) -> str:
        return str(self.details["pillar"])

    @property
    def xp(self) -> int:
        return int(self.details["xp"])
