"""Notifications end to end: a native task completed notifies the parent who asked (in the
page and by email, once) and not the observer who chose otherwise; a comment reply
reaches the observer who commented first; preferences are checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import badges, evidence, notifications, progress
from connectors.runner import UpstreamLog
from hub.badges import define_badge
from hub.domain.badges import BadgeRule
from hub.domain.base import EventContext, event_context
from hub.domain.learners import Identity
from hub.domain.notifications import inbox_id
from hub.domain.quests import Quest, Task
from hub.domain.submissions import Submission
from hub.family import commands as family
from infra.mail import FolderMailbox
from tests.accounts.conftest import T0, World, data_dir, problem
from tests.accounts.test_outbox import delivering
from tests.accounts.test_quests import complete, enrol, make_quest, make_task
from tests.connectors.world import PDF, RunnerThread, wait_for


@pytest.fixture
def running(world: World) -> Iterator[UpstreamLog]:
    specs = (evidence.SPEC, progress.SPEC, notifications.SPEC)
    runners = [RunnerThread(spec, world.env) for spec in specs]
    log = UpstreamLog(notifications.NAME, world.env)
    with delivering(world):
        yield log
    log.close()
    for runner in runners:
        runner.stop()


def choose(world: World, person: str, role: str, choice: dict[str, list[str]]) -> None:
    answer = world.http.put(
        "/api/v1/me/notification-preferences",
        json={"choice": choice},
        headers=world.cookie(person, role),
    )
    assert answer.status_code == 200, answer.text


def items(log: UpstreamLog, tenant: str, person: str) -> list[dict[str, str]]:
    found = inbox_id(tenant, person)
    return list(log.repository.get(found).items) if found in log.repository else []


def observe(world: World, tenant: str, student: str, email: str) -> str:
    with event_context(EventContext("test", "test")):
        sent = family.invite_observer(
            world.hub, tenant, student, email=email, name="Gran", relationship="gran", now=T0
        )
        return family.accept_invitation(world.hub, sent.code, now=T0).observer_id


def test_a_completed_task_reaches_who_asked_for_it_once(world: World, running: UpstreamLog) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    mum = world.learner(tenant, "mum", role="parent")
    with event_context(EventContext("test", "test")):
        family.link_guardian(world.hub, tenant, mum, sam, relationship="mother", source="admin")
    gran = observe(world, tenant, sam, "gran@example.org")
    choose(world, mum, "parent", {"task_completed": ["email", "in_page"]})
    choose(world, gran, "observer", {"comment_reply": ["in_page"]})

    quest = make_quest(world, tenant)
    task = make_task(world, quest, "plant", title="Plant seeds", xp=80, pillar="wellness")
    enrol(world, sam, quest)
    done = complete(world, sam, task, files=[("files", ("plan.pdf", PDF, "application/pdf"))])
    assert done.status_code == 201, done.text

    [notice] = wait_for(lambda: items(running, tenant, mum), "the parent's notification")
    assert (notice["kind"], notice["title"]) == (
        "task_completed",
        "Sam Example completed Plant seeds",
    )
    assert notice["text"] == "+80 XP in wellness"
    mailbox = FolderMailbox(Path(data_dir(world)) / "outbox")
    [mail] = wait_for(
        lambda: [m for m in mailbox.list(tenant) if m["kind"] == "notification"], "the email"
    )
    assert (mail["to"], mail["subject"]) == ("mum@example.org", notice["title"])
    shown = world.http.get("/api/v1/me/notifications", headers=world.cookie(mum, "parent"))
    assert [n["title"] for n in shown.json()["notifications"]] == [notice["title"]]

    # The observer asked for comment replies only.
    assert items(running, tenant, gran) == []
    ann = observe(world, tenant, sam, "ann@example.org")
    with event_context(EventContext("test", "test")):
        family.leave_comment(world.hub, tenant, gran, sam, task_id=task, text="Lovely!", now=T0)
        family.leave_comment(world.hub, tenant, ann, sam, task_id=task, text="Agreed", now=T0)
    [reply] = wait_for(lambda: items(running, tenant, gran), "the reply")
    assert (reply["kind"], reply["text"]) == ("comment_reply", "Agreed")
    assert items(running, tenant, mum) == [notice]  # once, and no reply for her
    assert len([m for m in mailbox.list(tenant) if m["kind"] == "notification"]) == 1


def test_unknown_kinds_or_channels_are_refused(world: World) -> None:
    tenant = world.tenant()
    mum = world.learner(tenant, "mum", role="parent")
    for choice in ({"fireworks": ["email"]}, {"badge_earned": ["pigeon"]}):
        problem(
            world.http.put(
                "/api/v1/me/notification-preferences",
                json={"choice": choice},
                headers=world.cookie(mum, "parent"),
            ),
            422,
            "preferences-invalid",
        )
    shown = world.http.get(
        "/api/v1/me/notification-preferences", headers=world.cookie(mum, "parent")
    ).json()
    assert shown["choice"]["badge_earned"] == ["in_page"]  # the default, unchanged


def test_a_spark_course_and_a_real_world_quest_count_together_for_a_badge(
    world: World,
) -> None:
    """ "3 Spark STEM courses + 2 real-world quests", in small: one of each earns the badge,
    and the parent who asked hears of it."""
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    mum = world.learner(tenant, "mum", role="parent")
    with event_context(EventContext("test", "test")):
        family.link_guardian(world.hub, tenant, mum, sam, relationship="mother", source="admin")
        define_badge(
            world.hub,
            tenant,
            BadgeRule(
                key="green-thumb",
                name="Green Thumb",
                description="",
                pillar="wellness",
                kind="pillar",
                min_quests=2,
                min_xp=100,
            ),
        )
        course = Quest(
            tenant=tenant,
            source="spark",
            external_id="course-yoga",
            details={"title": "Yoga", "assignment_ids": ["a1"]},
        )
        task = Task(
            tenant=tenant,
            source="spark",
            external_id="a1",
            quest_id=course.id,
            details={"title": "Sun salutation", "pillar": "wellness", "xp": 60},
        )
        identity = Identity(tenant=tenant, source="spark", external_id="sam", learner_id=sam)
        world.hub.save(course, task, identity)
        world.hub.save(
            Submission(
                tenant=tenant,
                source="spark",
                learner_key="sam",
                assignment_key="a1",
                submitted_at="2026-03-02T09:00:00+00:00",
                course_key="course-yoga",
                text="Done",
                files=[],
                grade=None,
                verified={},
            )
        )
    quest = make_quest(world, tenant)
    native = make_task(world, quest, "plant", xp=50, pillar="wellness")
    enrol(world, sam, quest)
    assert complete(world, sam, native).status_code == 201

    specs = (evidence.SPEC, progress.SPEC, badges.SPEC, notifications.SPEC)
    runners = [RunnerThread(spec, world.env) for spec in specs]
    log = UpstreamLog(notifications.NAME, world.env)
    try:
        found = wait_for(
            lambda: [n for n in items(log, tenant, mum) if n["kind"] == "badge_earned"],
            "the badge's notification",
        )
    finally:
        log.close()
        for runner in runners:
            runner.stop()
    assert [n["title"] for n in found] == ["Sam Example earned the Green Thumb badge"]
