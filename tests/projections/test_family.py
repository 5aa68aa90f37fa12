"""The family read model: the parent's view (quests, work, due dates, rhythm against a given
clock), observers and comments, the access decision, tenants apart, rebuilds identical."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from hub.domain.learners import Learner, learner_id
from hub.family import commands
from projections import rebuild, registry
from projections.family import (
    NAME,
    Access,
    ActiveQuest,
    access,
    all_rows,
    comments_on,
    completed_task,
    observer_view,
    observers_of,
    parent_view,
    wait_for,
)
from tests.projections.family_world import DAY, T0, School, heads, school
from tests.projections.helpers import running
from tests.projections.portfolio_world import World, evidence

SPEC = registry.get(NAME)
TTL = 1.5


@pytest.fixture
def acme(world: World, env: dict[str, str], sql_url: str, engine: Engine) -> Iterator[School]:
    """The acme school, and beta's, applied by a running family projection."""
    with running(SPEC, env, sql_url, lease_ttl=TTL):
        made = school(world, "acme")
        school(world, "beta")
        wait_for(engine, heads(world), timeout=30)
        yield made


def test_a_parent_sees_quests_work_due_dates_and_a_rhythm(
    acme: School, world: World, engine: Engine
) -> None:
    view = parent_view(engine, "acme", acme.mum, now=T0 + 3 * DAY)
    assert view is not None
    assert (view.name, view.rhythm_days) == ("Mum Example", 7)
    [alice] = view.students
    assert (alice.learner_id, alice.name, alice.relationship) == (
        acme.alice,
        "Alice Example",
        "mother",
    )
    assert (alice.rhythm, alice.last_submitted_at) == ("green", "2025-01-15T14:30:00Z")
    assert alice.active_quests == (
        ActiveQuest(acme.bio, "Spark: Biology", done=1, total=3),
        ActiveQuest(acme.art, "Spark: Digital Art", done=0, total=0),
    )
    assert alice.active_quests[0].percent == 33
    [work] = alice.recent_work
    assert (work.task_id, work.title, work.quest_title) == (
        acme.lab,
        "Lab: Leaves",
        "Spark: Biology",
    )
    assert (work.evidence, work.text) == ((evidence("lab.pdf"),), "<b>My lab</b>")
    # Due: the essay (the lab is done, the quiz has no date); overdue by the clock given.
    assert [(d.task_id, d.overdue) for d in alice.due] == [(acme.essay, False)]
    later = parent_view(engine, "acme", acme.mum, now=T0 + 8 * DAY)
    assert later is not None
    assert later.students[0].rhythm == "yellow"
    assert [(d.task_id, d.overdue) for d in later.students[0].due] == [(acme.essay, True)]


def test_the_rhythm_is_configurable_per_tenant(acme: School, world: World, engine: Engine) -> None:
    commands.set_rhythm_days(world.hub, "acme", 10)
    wait_for(engine, heads(world), timeout=30)
    mine = parent_view(engine, "acme", acme.mum, now=T0 + 8 * DAY)
    theirs = parent_view(engine, "beta", learner_id("beta", "spark", "mum"), now=T0 + 8 * DAY)
    assert mine is not None
    assert (mine.rhythm_days, mine.students[0].rhythm) == (10, "green")
    assert theirs is not None
    assert (theirs.rhythm_days, theirs.students[0].rhythm) == (7, "yellow")


def test_access(acme: School, world: World, engine: Engine) -> None:
    def decide(viewer: str, role: str, learner: str) -> Access:
        return access(engine, "acme", viewer, role, learner)

    assert decide(acme.alice, "student", acme.alice) == Access(True, True, False, "self")
    assert decide(acme.mum, "parent", acme.alice) == Access(True, True, False, "guardian")
    assert decide(acme.grace, "observer", acme.alice) == Access(True, False, True, "observer")
    # A parent of another student; an observer of another; a student of another.
    assert decide(acme.mum, "parent", acme.bob) == Access.denied("not_linked")
    assert decide(acme.grace, "observer", acme.bob) == Access.denied("not_linked")
    assert decide(acme.bob, "student", acme.alice) == Access.denied("not_linked")
    # The links decide, whatever role the session names.
    assert decide(acme.mum, "observer", acme.alice) == Access(True, True, False, "guardian")
    # Another tenant's learner, whichever id is foreign.
    beta_alice = acme.alice.replace("acme.", "beta.", 1)
    assert decide(acme.mum, "parent", beta_alice) == Access.denied("other_tenant")
    assert access(engine, "beta", acme.mum, "parent", beta_alice) == Access.denied("other_tenant")

    commands.remove_observer(world.hub, "acme", acme.alice, acme.grace, now=T0 + 3 * DAY)
    commands.unlink_guardian(world.hub, "acme", acme.mum, acme.alice, source="admin")
    wait_for(engine, heads(world), timeout=30)
    assert decide(acme.grace, "observer", acme.alice) == Access.denied("link_removed")
    assert decide(acme.mum, "parent", acme.alice) == Access.denied("not_linked")
    assert observer_view(engine, "acme", acme.grace) is not None
    assert observer_view(engine, "acme", acme.grace).students == ()  # type: ignore[union-attr]
    assert parent_view(engine, "acme", acme.mum, now=T0).students == ()  # type: ignore[union-attr]


def test_observers_invitations_and_comments(acme: School, world: World, engine: Engine) -> None:
    hub = world.hub
    pending = commands.invite_observer(
        hub,
        "acme",
        acme.alice,
        email="c@example.org",
        name="Coach",
        relationship="coach",
        now=T0 + DAY,
    )
    cancelled = commands.invite_observer(
        hub,
        "acme",
        acme.alice,
        email="d@example.org",
        name="Dee",
        relationship="mentor",
        now=T0 + 2 * DAY,
    )
    commands.cancel_invitation(hub, "acme", acme.alice, cancelled.invitation_id, now=T0)
    wait_for(engine, heads(world), timeout=30)
    found = observers_of(engine, "acme", acme.alice, now=T0 + 3 * DAY)
    assert [(i.name, i.status) for i in found.invitations] == [
        ("Dee", "cancelled"),
        ("Coach", "pending"),
        ("Grace Hopper", "accepted"),
    ]
    later = observers_of(engine, "acme", acme.alice, now=T0 + 8 * DAY)
    assert [i.status for i in later.invitations] == ["cancelled", "expired", "accepted"]
    [grace] = found.observers
    assert (grace.observer_id, grace.name, grace.email) == (
        acme.grace,
        "Grace Hopper",
        "grace@example.org",
    )
    assert (grace.can_view_evidence, grace.can_comment) == (False, True)
    assert pending.invitation_id in {i.invitation_id for i in found.invitations}

    [comment] = comments_on(engine, "acme", acme.alice)
    assert (comment.observer_name, comment.task_title, comment.text) == (
        "Grace Hopper",
        "Lab: Leaves",
        "Lovely leaves!",
    )
    view = observer_view(engine, "acme", acme.grace)
    assert view is not None
    [alice] = view.students
    [work] = alice.recent_work
    # Without the right to view evidence: the work's title, not its files or text.
    assert (work.title, work.evidence, work.text) == ("Lab: Leaves", (), "")
    assert completed_task(engine, "acme", acme.alice, acme.lab)
    assert not completed_task(engine, "acme", acme.alice, acme.essay)
    # Nothing crosses tenants.
    assert comments_on(engine, "beta", acme.alice) == ()
    assert observers_of(engine, "beta", acme.alice).invitations == ()
    assert not completed_task(engine, "beta", acme.alice, acme.lab)
    assert observer_view(engine, "beta", acme.grace) is None
    assert parent_view(engine, "beta", acme.mum) is None


def test_tenants_are_apart_and_a_rebuild_gives_identical_rows(
    acme: School, world: World, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    before = all_rows(engine)
    for table, rows in before.items():
        if table != "settings":
            assert {row[0] for row in rows} == {"acme", "beta"}, table
    assert rebuild(NAME, env, sql_url) == 2
    assert all_rows(engine) == before
    # The live runner follows on version 2.
    commands.set_rhythm_days(world.hub, "beta", 3)
    wait_for(engine, heads(world), timeout=30)
    after = all_rows(engine)
    assert after["settings"] == [("beta", 3)]


def test_a_role_taken_on_is_the_persons_main_role_after_a_rebuild_too(
    acme: School, world: World, env: dict[str, str], sql_url: str, engine: Engine
) -> None:
    """Grace, Alice's observer, later arrives as a student (issue 9: one person)."""
    grace: Learner = world.hub.repository.get(acme.grace)
    assert grace.take_on_role("student", "spark")
    world.hub.save(grace)
    wait_for(engine, heads(world), timeout=30)
    people = {row[1]: row for row in all_rows(engine)["people"]}
    assert people[acme.grace][-1] == "student"
    before = all_rows(engine)
    rebuild(NAME, env, sql_url)
    assert all_rows(engine) == before
    seen = observer_view(engine, "acme", acme.grace)  # still observing Alice
    assert seen is not None
    assert [student.learner_id for student in seen.students] == [acme.alice]
