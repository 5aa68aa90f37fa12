"""Badges: the rules a tenant's admins define, a learner's standing against one, and the award.

A tenant keeps its badges in one `BadgeBook` (one read gives the badges process
application every rule of the tenant). A badge is one of two kinds (seeds 000 and 001):

- `pillar`: at least `min_quests` completed quests of the badge's pillar, and `min_xp`
  XP in that pillar ("STEM Scholar: 5 STEM quests and 1,500 STEM XP");
- `courses`: every one of a set of required courses (quests) completed, and `min_xp`
  XP in the badge's pillar ("Minecraft Master: Minecraft Biology, Geology and Zoology,
  and 900 XP").

A quest is completed by a learner when every task it lists has a `Progress.TaskCompleted`
of that learner, whatever the source (Spark, LTI, OneRoster, the hub's own quests): the
quest lists its tasks in its details (`task_ids`, or a Spark course's `assignment_ids`).
A completed quest's pillar is the one its tasks gave the most XP (ties: the order of
`Pillar`). Everything here is pure: the badges connector and the badge read model
evaluate the same facts with the same function, `standing`.

`LearnerBadge` records that a learner earned a badge; its id is derived from tenant,
learner and badge, and its only event is the one that creates it, so a badge is
earned at most once, whatever is replayed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.domain.base import HubAggregate, aggregate_id
from hub.domain.quests import quest_id, task_id
from hub.domain.rules import Pillar

BadgeKind = Literal["pillar", "courses"]
PILLAR_LABELS: dict[str, str] = {
    Pillar.STEM: "STEM",
    Pillar.COMMUNICATION: "communication",
    Pillar.ART: "art",
    Pillar.WELLNESS: "wellness",
    Pillar.CIVICS: "civics",
}
SOURCE_LABELS: dict[str, str] = {
    "spark": "Spark",
    "lti": "LTI",
    "oneroster": "OneRoster",
    "hub": "hub",
}
ALL_MET = "nothing more: every requirement is met"


class BadgeError(Exception):
    """Base of the badge rules' errors."""


class BadgeExistsError(BadgeError):
    """Raised when a badge with that key is already defined in the tenant."""


class UnknownBadgeError(BadgeError):
    """Raised when the tenant has no badge with that key."""


class BadgeRetiredError(BadgeError):
    """Raised when a retired badge would be changed (retired badges stay as they were)."""


def badge_id(tenant: str, key: str) -> str:
    return aggregate_id(tenant, "Badge", key)


def badge_book_id(tenant: str) -> str:
    return aggregate_id(tenant, "BadgeBook", tenant)


def learner_badge_id(tenant: str, learner_id: str, badge: str) -> str:
    return aggregate_id(tenant, "LearnerBadge", learner_id, badge)


@dataclass(frozen=True)
class RequiredCourse:
    """A course (quest) a `courses` badge requires, named as its source knows it."""

    source: str
    external_id: str
    title: str = ""

    def quest_id(self, tenant: str) -> str:
        return quest_id(tenant, self.source, self.external_id)


@dataclass(frozen=True)
class BadgeRule:
    """What a badge asks; `required` is empty for a `pillar` badge, `min_quests` 0 for a
    `courses` one (it needs every required course)."""

    key: str
    name: str
    description: str
    pillar: str
    kind: BadgeKind
    min_quests: int
    min_xp: int
    required: tuple[RequiredCourse, ...] = ()

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> BadgeRule:
        """From an event's (or a row's) plain fields."""
        return cls(
            key=str(fields["key"]),
            name=str(fields["name"]),
            description=str(fields.get("description") or ""),
            pillar=str(fields["pillar"]),
            kind=fields["kind"],
            min_quests=int(fields["min_quests"]),
            min_xp=int(fields["min_xp"]),
            required=tuple(RequiredCourse(**course) for course in fields.get("required") or ()),
        )

    def fields(self) -> dict[str, Any]:
        """Plain fields, for events and rows."""
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "pillar": self.pillar,
            "kind": self.kind,
            "min_quests": self.min_quests,
            "min_xp": self.min_xp,
            "required": [vars(course) for course in self.required],
        }

    @property
    def quests_needed(self) -> int:
        return len(self.required) if self.kind == "courses" else self.min_quests


def check_rule(rule: BadgeRule) -> None:
    """Raise `ValueError` for a rule that cannot be met or says two things at once."""
    if rule.pillar not in PILLAR_LABELS:
        msg = f"pillar must be one of {', '.join(PILLAR_LABELS)}, not {rule.pillar!r}"
        raise ValueError(msg)
    if rule.min_xp < 0 or rule.min_quests < 0:
        raise ValueError("min_quests and min_xp cannot be negative")
    if rule.kind == "pillar" and rule.required:
        raise ValueError("a pillar badge lists no required courses (use kind 'courses')")
    if rule.kind == "courses" and not rule.required:
        raise ValueError("a courses badge needs at least one required course")
    if rule.kind == "courses" and rule.min_quests:
        raise ValueError("a courses badge needs every required course; leave min_quests 0")
    if rule.kind == "pillar" and rule.min_quests == 0 and rule.min_xp == 0:
        raise ValueError("a pillar badge needs min_quests or min_xp above 0")
    keys = [(course.source, course.external_id) for course in rule.required]
    if len(set(keys)) != len(keys):
        raise ValueError("a required course is listed twice")


# Standing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    """A task a learner completed, as `Progress.TaskCompleted` says."""

    task_id: str
    quest_id: str
    pillar: str
    xp: int


@dataclass(frozen=True)
class QuestInfo:
    """A quest as far as badges care: its source, title and the tasks it lists."""

    quest_id: str
    source: str
    title: str
    task_ids: frozenset[str]


@dataclass(frozen=True)
class Standing:
    """How far a learner is from a badge: numbers, and what remains in words."""

    met: bool
    quests_done: int
    quests_needed: int
    xp_done: int
    xp_needed: int
    remaining: str
    missing_courses: tuple[str, ...] = field(default=())


def quest_task_ids(quest: str, source: str, details: Mapping[str, Any]) -> frozenset[str]:
    """The tasks a quest lists: `task_ids`, or a course's `assignment_ids` as task ids."""
    if "task_ids" in details:
        return frozenset(str(t) for t in details["task_ids"])
    tenant = quest.split(".", 1)[0]
    return frozenset(task_id(tenant, source, str(a)) for a in details.get("assignment_ids", ()))


def completed_quests(
    completions: Iterable[Completion], quests: Mapping[str, QuestInfo]
) -> dict[str, str]:
    """The quests every listed task of which is completed: quest id -> its pillar."""
    by_quest: dict[str, dict[str, Completion]] = {}
    for done in completions:
        by_quest.setdefault(done.quest_id, {})[done.task_id] = done
    found = {}
    for quest, done_tasks in by_quest.items():
        info = quests.get(quest)
        if info is None or not info.task_ids or not info.task_ids <= done_tasks.keys():
            continue
        xp: dict[str, int] = {}
        for task in info.task_ids:
            completion = done_tasks[task]
            xp[completion.pillar] = xp.get(completion.pillar, 0) + completion.xp
        order = list(PILLAR_LABELS)
        found[quest] = max(
            xp, key=lambda p: (xp[p], -order.index(p) if p in order else -len(order))
        )
    return found


def standing(
    rule: BadgeRule,
    tenant: str,
    completions: Sequence[Completion],
    quests: Mapping[str, QuestInfo],
) -> Standing:
    """Where a learner with `completions` stands against `rule` (`quests`: what is known
    of the quests the completions and the rule name)."""
    done = completed_quests(completions, quests)
    xp_done = sum(c.xp for c in completions if c.pillar == rule.pillar)
    missing: list[RequiredCourse] = []
    if rule.kind == "courses":
        missing = [c for c in rule.required if c.quest_id(tenant) not in done]
        quests_done = len(rule.required) - len(missing)
    else:
        quests_done = sum(1 for pillar in done.values() if pillar == rule.pillar)
    quests_needed = rule.quests_needed
    parts = []
    more_quests = max(0, quests_needed - quests_done)
    label = PILLAR_LABELS.get(rule.pillar, rule.pillar)
    if more_quests and rule.kind == "courses":
        names = [_course_name(course, tenant, quests) for course in missing]
        parts.append(f"complete {more_quests} more {_courses_word(missing)} ({', '.join(names)})")
    elif more_quests:
        parts.append(f"complete {more_quests} more {label} quest{_s(more_quests)}")
    more_xp = max(0, rule.min_xp - xp_done)
    if more_xp:
        parts.append(f"earn {more_xp} more {label} XP")
    return Standing(
        met=not parts,
        quests_done=quests_done,
        quests_needed=quests_needed,
        xp_done=xp_done,
        xp_needed=rule.min_xp,
        remaining=" and ".join(parts) if parts else ALL_MET,
        missing_courses=tuple(course.quest_id(tenant) for course in missing),
    )


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _courses_word(missing: Sequence[RequiredCourse]) -> str:
    sources = {course.source for course in missing}
    noun = f"course{_s(len(missing))}"
    if len(sources) == 1:
        (source,) = sources
        label = SOURCE_LABELS.get(source, source)
        return f"{label} {noun}"
    return noun


def _course_name(course: RequiredCourse, tenant: str, quests: Mapping[str, QuestInfo]) -> str:
    info = quests.get(course.quest_id(tenant))
    return course.title or (info.title if info is not None and info.title else course.external_id)


# Aggregates -------------------------------------------------------------------------


class BadgeBook(HubAggregate):
    """A tenant's badges: each defined once by key, updated, retired (never deleted)."""

    def __init__(self) -> None:
        self.badges: dict[str, BadgeRule] = {}  # key -> the rule in force
        self.retired: set[str] = set()

    @dataclass(frozen=True)
    class Opened(HubAggregate.Created):
        """The tenant's first badge is about to be defined."""

        tenant: str

    @dataclass(frozen=True)
    class BadgeDefined(HubAggregate.Event):
        badge_id: str
        key: str
        name: str
        description: str
        pillar: str
        kind: str
        min_quests: int
        min_xp: int
        required: list[dict[str, str]]

        def apply(self, aggregate: Any) -> None:
            book: BadgeBook = aggregate
            book.badges[self.key] = BadgeRule.from_fields(vars(self))

    @dataclass(frozen=True)
    class BadgeUpdated(BadgeDefined):
        """The rule of an existing badge, as it is from now on (earned badges stay earned)."""

    @dataclass(frozen=True)
    class BadgeRetired(HubAggregate.Event):
        """No longer earned from now on; those who earned it keep it."""

        badge_id: str
        key: str

        def apply(self, aggregate: Any) -> None:
            book: BadgeBook = aggregate
            book.retired.add(self.key)

    @classmethod
    def open(cls, tenant: str) -> BadgeBook:
        return cls._create(cls.Opened, id=badge_book_id(tenant), tenant=tenant)

    def define(self, rule: BadgeRule) -> None:
        check_rule(rule)
        if rule.key in self.badges:
            msg = f"badge {rule.key!r} is already defined"
            raise BadgeExistsError(msg)
        self.trigger_event(self.BadgeDefined, badge_id=badge_id(self.tenant, rule.key), **_of(rule))

    def update(self, rule: BadgeRule) -> bool:
        """Record the new rule; False (nothing recorded) when it is the same."""
        self.check_changeable(rule.key)
        check_rule(rule)
        if self.badges[rule.key] == rule:
            return False
        self.trigger_event(self.BadgeUpdated, badge_id=badge_id(self.tenant, rule.key), **_of(rule))
        return True

    def retire(self, key: str) -> None:
        self.check_changeable(key)
        self.trigger_event(self.BadgeRetired, badge_id=badge_id(self.tenant, key), key=key)

    def check_changeable(self, key: str) -> None:
        if key not in self.badges:
            msg = f"no badge {key!r} is defined"
            raise UnknownBadgeError(msg)
        if key in self.retired:
            msg = f"badge {key!r} is retired"
            raise BadgeRetiredError(msg)

    def active(self) -> list[BadgeRule]:
        return [rule for key, rule in self.badges.items() if key not in self.retired]


def _of(rule: BadgeRule) -> dict[str, Any]:
    return rule.fields()


class LearnerBadge(HubAggregate):
    """A badge a learner earned: created by its one event, so earned at most once."""

    @dataclass(frozen=True)
    class BadgeEarned(HubAggregate.Created):
        """The rule was met by the completion `met_by` (a `Progress` event, by id@version)."""

        learner_id: str
        badge_id: str
        key: str
        name: str
        pillar: str
        rule: dict[str, Any]
        quests_done: int
        xp_done: int
        met_by: str
        earned_at: str

        def apply(self, aggregate: Any) -> None:
            badge: LearnerBadge = aggregate
            badge.learner_id = self.learner_id
            badge.badge_id = self.badge_id
            badge.earned_at = self.earned_at

    def __init__(self) -> None:
        self.learner_id = ""
        self.badge_id = ""
        self.earned_at = ""

    @classmethod
    def earn(cls, tenant: str, learner_id: str, rule: BadgeRule, **fields: Any) -> LearnerBadge:
        badge = badge_id(tenant, rule.key)
        return cls._create(
            cls.BadgeEarned,
            id=learner_badge_id(tenant, learner_id, badge),
            learner_id=learner_id,
            badge_id=badge,
            key=rule.key,
            name=rule.name,
            pillar=rule.pillar,
            rule=rule.fields(),
            **fields,
        )


# The seeds' badges (000: STEM Scholar; 001: course clusters), shipped for the demo tenant.
DEMO_BADGES: tuple[BadgeRule, ...] = (
    BadgeRule(
        key="stem-scholar",
        name="STEM Scholar",
        description="Five STEM quests, Spark courses and real-world quests alike, and 1,500 XP.",
        pillar="stem",
        kind="pillar",
        min_quests=5,
        min_xp=1500,
    ),
    BadgeRule(
        key="digital-arts-creator",
        name="Digital Arts Creator",
        description="Graphic Design, Illustration and the Adobe certification, and 750 XP.",
        pillar="art",
        kind="courses",
        min_quests=0,
        min_xp=750,
        required=(
            RequiredCourse("spark", "course_graphic_design", "Graphic Design"),
            RequiredCourse("spark", "course_illustration", "Illustration"),
            RequiredCourse("spark", "course_adobe_cert", "Adobe Certification"),
        ),
    ),
    BadgeRule(
        key="minecraft-master",
        name="Minecraft Master",
        description="Minecraft Biology, Geology and Zoology, and 900 XP.",
        pillar="stem",
        kind="courses",
        min_quests=0,
        min_xp=900,
        required=(
            RequiredCourse("spark", "course_minecraft_biology", "Minecraft Biology"),
            RequiredCourse("spark", "course_minecraft_geology", "Minecraft Geology"),
            RequiredCourse("spark", "course_minecraft_zoology", "Minecraft Zoology"),
        ),
    ),
)
