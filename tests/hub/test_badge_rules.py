"""Badge rules: what counts as a completed quest, a learner's standing in numbers and words,
and the badge book's guards."""

from __future__ import annotations

import pytest

from hub.domain.badges import (
    ALL_MET,
    DEMO_BADGES,
    BadgeBook,
    BadgeExistsError,
    BadgeRetiredError,
    BadgeRule,
    Completion,
    QuestInfo,
    RequiredCourse,
    UnknownBadgeError,
    check_rule,
    completed_quests,
    quest_task_ids,
    standing,
)
from hub.domain.quests import quest_id, task_id

T = "alpha"
SCHOLAR = BadgeRule("scholar", "STEM Scholar", "", "stem", "pillar", min_quests=3, min_xp=1500)
CLUSTER = BadgeRule(
    "cluster",
    "Science Cluster",
    "",
    "stem",
    "courses",
    min_quests=0,
    min_xp=300,
    required=(
        RequiredCourse("spark", "physics", "Physics"),
        RequiredCourse("spark", "chemistry", "Chemistry"),
        RequiredCourse("spark", "math", ""),
    ),
)


def course(name: str, tasks: int, title: str = "") -> QuestInfo:
    ids = frozenset(task_id(T, "spark", f"{name}-{i}") for i in range(tasks))
    return QuestInfo(quest_id(T, "spark", name), "spark", title or name.title(), ids)


def done(quest: QuestInfo, pillar: str = "stem", xp: int = 100) -> list[Completion]:
    return [Completion(task, quest.quest_id, pillar, xp) for task in sorted(quest.task_ids)]


def known(*quests: QuestInfo) -> dict[str, QuestInfo]:
    return {q.quest_id: q for q in quests}


def test_a_quest_counts_once_every_task_it_lists_is_completed() -> None:
    physics = course("physics", 3)
    partial = done(physics)[:2]
    assert completed_quests(partial, known(physics)) == {}
    assert completed_quests(done(physics), known(physics)) == {physics.quest_id: "stem"}


def test_a_quest_that_lists_no_task_or_is_unknown_never_counts() -> None:
    empty = QuestInfo(quest_id(T, "spark", "empty"), "spark", "Empty", frozenset())
    stray = [Completion("t1", empty.quest_id, "stem", 100)]
    assert completed_quests(stray, known(empty)) == {}
    assert completed_quests(stray, {}) == {}


def test_a_completed_quest_s_pillar_is_the_one_its_tasks_gave_most_xp_ties_in_pillar_order() -> (
    None
):
    mixed = course("mixed", 3)
    tasks = sorted(mixed.task_ids)
    art_heavy = [
        Completion(tasks[0], mixed.quest_id, "stem", 100),
        Completion(tasks[1], mixed.quest_id, "art", 150),
        Completion(tasks[2], mixed.quest_id, "art", 100),
    ]
    assert completed_quests(art_heavy, known(mixed)) == {mixed.quest_id: "art"}
    tie = [
        Completion(tasks[0], mixed.quest_id, "civics", 100),
        Completion(tasks[1], mixed.quest_id, "communication", 100),
        Completion(tasks[2], mixed.quest_id, "wellness", 0),
    ]
    assert completed_quests(tie, known(mixed)) == {mixed.quest_id: "communication"}


def test_a_pillar_badge_says_how_many_quests_and_how_much_xp_remain() -> None:
    physics, art = course("physics", 2), course("art", 2)
    completions = done(physics, xp=200) + done(art, pillar="art", xp=500)
    found = standing(SCHOLAR, T, completions, known(physics, art))
    assert (found.quests_done, found.quests_needed) == (1, 3)
    assert (found.xp_done, found.xp_needed) == (400, 1500)
    assert found.remaining == "complete 2 more STEM quests and earn 1100 more STEM XP"
    assert not found.met


def test_a_courses_badge_names_the_courses_that_remain_with_their_source() -> None:
    physics, chemistry, math = (
        course("physics", 2),
        course("chemistry", 1),
        course("math", 1, "Advanced Math"),
    )
    found = standing(CLUSTER, T, done(physics, xp=200), known(physics, chemistry, math))
    assert found.remaining == "complete 2 more Spark courses (Chemistry, Advanced Math)"
    assert (found.quests_done, found.quests_needed, found.xp_done) == (1, 3, 400)
    assert found.missing_courses == (chemistry.quest_id, math.quest_id)
    one_left = standing(CLUSTER, T, done(physics) + done(chemistry), known(physics, chemistry))
    assert one_left.remaining == "complete 1 more Spark course (math)"  # unknown: its id


def test_a_met_rule_says_nothing_remains() -> None:
    physics, chemistry, math = course("physics", 1), course("chemistry", 1), course("math", 1)
    completions = done(physics) + done(chemistry) + done(math)
    found = standing(CLUSTER, T, completions, known(physics, chemistry, math))
    assert found.met
    assert found.remaining == ALL_MET
    short_of_xp = standing(
        CLUSTER,
        T,
        done(physics, xp=50) + done(chemistry, xp=50) + done(math, xp=50),
        known(physics, chemistry, math),
    )
    assert short_of_xp.remaining == "earn 150 more STEM XP"


def test_xp_of_other_pillars_does_not_count() -> None:
    art = course("art", 1)
    found = standing(SCHOLAR, T, done(art, pillar="art", xp=5000), known(art))
    assert found.xp_done == 0
    assert found.quests_done == 0


def test_a_spark_quest_lists_its_assignments_as_tasks() -> None:
    quest = quest_id(T, "spark", "bio")
    details = {"title": "Bio", "assignment_ids": ["a1", "a2"]}
    assert quest_task_ids(quest, "spark", details) == {
        task_id(T, "spark", "a1"),
        task_id(T, "spark", "a2"),
    }
    assert quest_task_ids(quest, "hub", {"task_ids": ["x"]}) == {"x"}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (BadgeRule("k", "K", "", "music", "pillar", 1, 0), "pillar must be one of"),
        (BadgeRule("k", "K", "", "stem", "pillar", 0, 0), "needs min_quests or min_xp"),
        (BadgeRule("k", "K", "", "stem", "courses", 0, 10), "at least one required course"),
        (BadgeRule("k", "K", "", "stem", "courses", 2, 10, CLUSTER.required), "leave min_quests"),
        (
            BadgeRule("k", "K", "", "stem", "pillar", 1, 0, CLUSTER.required),
            "lists no required courses",
        ),
        (
            BadgeRule("k", "K", "", "stem", "courses", 0, 0, CLUSTER.required[:1] * 2),
            "listed twice",
        ),
    ],
)
def test_a_rule_that_cannot_hold_is_refused(rule: BadgeRule, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_rule(rule)


def test_the_seeds_demo_badges_are_valid_rules() -> None:
    for rule in DEMO_BADGES:
        check_rule(rule)
    assert [r.name for r in DEMO_BADGES] == [
        "STEM Scholar",
        "Digital Arts Creator",
        "Minecraft Master",
    ]


def test_the_badge_book_guards_keys_and_retired_badges() -> None:
    book = BadgeBook.open(T)
    book.define(SCHOLAR)
    with pytest.raises(BadgeExistsError):
        book.define(SCHOLAR)
    assert book.update(SCHOLAR) is False  # the same rule records nothing
    looser = BadgeRule(**{**vars(SCHOLAR), "min_xp": 1000})
    assert book.update(looser) is True
    assert book.badges["scholar"].min_xp == 1000
    book.retire("scholar")
    assert book.active() == []
    with pytest.raises(BadgeRetiredError):
        book.update(SCHOLAR)
    with pytest.raises(BadgeRetiredError):
        book.retire("scholar")
    with pytest.raises(UnknownBadgeError):
        book.retire("nobody")
    kinds = [type(e).__qualname__ for e in book.collect_events()]
    assert kinds == [
        "BadgeBook.Opened",
        "BadgeBook.BadgeDefined",
        "BadgeBook.BadgeUpdated",
        "BadgeBook.BadgeRetired",
    ]
