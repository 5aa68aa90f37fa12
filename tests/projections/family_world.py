"""What the family read-model tests record: a school with a student's quests, tasks with due
dates and completed work (the portfolio tests' `World`), and the family's own commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.domain.quests import Task
from hub.family import commands
from projections.upstreams import head
from tests.hub.family.people import person
from tests.projections.portfolio_world import World, task_of

T0 = datetime(2025, 1, 15, 14, 30, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class School:
    tenant: str
    alice: str
    bob: str
    mum: str
    grace: str  # an observer who may comment, not see evidence
    bio: str
    art: str
    lab: str
    essay: str
    quiz: str


def due_task(world: World, tenant: str, quest: str, key: str, title: str, due: datetime) -> str:
    task = Task(
        tenant=tenant,
        source="spark",
        external_id=key,
        quest_id=quest,
        details={"title": title, "pillar": "stem", "xp": 100, "due_at": due.isoformat()},
    )
    world.hub.save(task)
    return str(task.id)


def school(world: World, tenant: str) -> School:
    """Alice (enrolled in Biology, 1 of 3 tasks done, and Digital Art) with her mother and
    an observer; Bob, another student, whom nobody here is linked to."""
    hub = world.hub
    alice = person(hub, tenant, "alice")
    bob = person(hub, tenant, "bob")
    mum = person(hub, tenant, "mum", role="parent")
    bio = world.quest(tenant, "course_bio", "Biology")
    art = world.quest(tenant, "course_art", "Digital Art")
    for quest in (bio, art):
        world.enrol(alice, quest)
    lab = due_task(world, tenant, bio, "a_lab", "Lab: Leaves", T0 - DAY)
    essay = due_task(world, tenant, bio, "a_essay", "Essay: Sunlight", T0 + 5 * DAY)
    quiz = world.task(tenant, bio, "a_quiz", "Quiz: Cells", 1)
    world.complete(tenant, alice, task_of(world, lab), ["lab.pdf"], text="<b>My lab</b>")
    commands.link_guardian(hub, tenant, mum, alice, relationship="mother", source="oneroster")
    sent = commands.invite_observer(
        hub,
        tenant,
        alice,
        email="grace@example.org",
        name="Grace Hopper",
        relationship="grandparent",
        now=T0,
        can_view_evidence=False,
    )
    grace = commands.accept_invitation(hub, sent.code, now=T0 + DAY).observer_id
    commands.leave_comment(
        hub, tenant, grace, alice, task_id=lab, text="Lovely leaves!", now=T0 + 2 * DAY
    )
    return School(tenant, alice, bob, mum, grace, bio, art, lab, essay, quiz)


def heads(world: World) -> dict[str, int]:
    """Every upstream's last position: what the read model must have applied (an empty log
    has nothing to wait for)."""
    found = {"hub": head(world.hub), "progress": head(world.progress)}
    return {upstream: position for upstream, position in found.items() if position}
