"""What a portfolio page shows, from a portfolio read model: tasks with evidence by course,
each with its source, and XP per pillar. Plain data; the template escapes every string."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

SOURCES = {"spark": "Spark", "lti": "LTI", "oneroster": "OneRoster class", "hub": "The hub"}
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"})
IMAGE_TYPES = frozenset(t for t in INLINE_TYPES if t.startswith("image/"))


class AsOfInvalidError(ValueError):
    """Raised for an `as_of` that is neither a date nor an ISO 8601 date and time."""


def parse_as_of(text: str) -> datetime:
    """`2025-01-15` -> the end of that day (UTC); a date and time as given (UTC if naive)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        when = datetime.fromisoformat(text)
    except ValueError as error:
        msg = f"as_of {text!r} is not a date (2025-01-15) or a date and time (ISO 8601)"
        raise AsOfInvalidError(msg) from error
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def source_label(source: str) -> str:
    return SOURCES.get(source, source.title() or "Unknown")


@dataclass(frozen=True)
class EvidenceLine:
    filename: str
    type: str
    size: int
    url: str

    @property
    def is_image(self) -> bool:
        return self.type in IMAGE_TYPES


@dataclass(frozen=True)
class TaskEntry:
    title: str
    pillar: str
    xp: int
    submitted_at: str
    source: str
    source_label: str
    text: str
    evidence: tuple[EvidenceLine, ...]
    resubmissions: int


@dataclass(frozen=True)
class QuestEntry:
    quest_id: str
    title: str
    enrolled: bool
    xp: int
    tasks: tuple[TaskEntry, ...]


@dataclass(frozen=True)
class PortfolioPage:
    learner_id: str
    name: str
    quests: tuple[QuestEntry, ...]
    xp: tuple[tuple[str, int], ...]
    total_xp: int
    show_evidence: bool
    as_of: str | None = None
    slug: str = ""

    @property
    def completed(self) -> int:
        return sum(len(quest.tasks) for quest in self.quests)


def evidence_url(learner_id: str, blob: str) -> str:
    return f"/evidence/{quote(learner_id)}/{quote(blob)}"


def _evidence(learner_id: str, files: Any) -> tuple[EvidenceLine, ...]:
    return tuple(
        EvidenceLine(
            str(file.get("filename") or "file"),
            str(file.get("type", "")),
            int(file.get("size", 0)),
            evidence_url(learner_id, str(file["blob"])),
        )
        for file in files
        if file.get("blob")
    )


def _task(learner_id: str, task: Any, show_evidence: bool) -> TaskEntry:
    return TaskEntry(
        title=task.title or "A task",
        pillar=task.pillar,
        xp=int(task.xp),
        submitted_at=task.submitted_at,
        source=task.source,
        source_label=source_label(task.source),
        text=task.text if show_evidence else "",
        evidence=_evidence(learner_id, task.evidence) if show_evidence else (),
        resubmissions=int(task.resubmissions),
    )


def portfolio_page(
    portfolio: Any,
    *,
    learner_id: str,
    show_evidence: bool,
    as_of: str | None = None,
    slug: str = "",
) -> PortfolioPage:
    """The page of a `projections.portfolio.Portfolio` (duck-typed; None: nothing yet)."""
    if portfolio is None:
        return PortfolioPage(learner_id, "Learner", (), (), 0, show_evidence, as_of, slug)
    quests = tuple(
        QuestEntry(
            quest.quest_id,
            quest.title or "A course not synced yet",
            quest.enrolled,
            quest.xp,
            tuple(_task(learner_id, task, show_evidence) for task in quest.tasks),
        )
        for quest in portfolio.quests
    )
    xp = tuple(sorted((str(k), int(v)) for k, v in portfolio.xp_by_pillar.items()))
    name = portfolio.learner.name if portfolio.learner is not None else "Learner"
    return PortfolioPage(
        learner_id, name, quests, xp, sum(v for _, v in xp), show_evidence, as_of, slug
    )


def find_evidence(portfolio: Any, blob: str) -> dict[str, Any] | None:
    """The evidence entry of `blob` in a portfolio, if any of its tasks shows it."""
    if portfolio is None:
        return None
    for quest in portfolio.quests:
        for task in quest.tasks:
            for file in task.evidence:
                if file.get("blob") == blob:
                    return dict(file)
    return None
