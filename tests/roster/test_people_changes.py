"""What roster changes do to the hub's people: deleted enrolments drop the learner's
enrolment (once, and only that source's), and roles come from roles.csv and enrolments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import AggregateNotFoundError

from connectors.sis.people import RosterPeople, RosterPolicy
from hub.domain.base import tenant_of
from hub.domain.learners import EmailIndex, Learner, learner_id
from hub.domain.quests import quest_id
from projections import registry
from projections.gradebook_members import context_members
from schemas.lti import INSTRUCTOR, LEARNER, MembersQuery, role_uris
from tests.projections.helpers import RunnerThread
from tests.roster.bundles import Rows, school, write_bundle
from tests.roster.conftest import RosterWorld, eventually, tenant

STAMP = "2025-10-01T08:00:00.000Z"


def until(check: Callable[[], bool]) -> None:
    """Wait until `check()` holds (the policy follows the roster log)."""

    def read() -> None:
        if not check():
            raise AggregateNotFoundError("not yet")

    eventually(read)


def learner(world: RosterWorld, slug: str, sourced_id: str, system: str = "oneroster") -> Learner:
    found: Learner = world.runtime.hub.repository.get(learner_id(slug, system, sourced_id))
    return found


def drops(world: RosterWorld, aggregate_id: str) -> list[tuple[str, str]]:
    """(quest, source) of each `Learner.Dropped` the learner's history holds."""
    return [
        (e.quest_id, e.source)
        for e in world.runtime.hub.repository.event_store.get(aggregate_id)
        if type(e).__qualname__ == "Learner.Dropped"
    ]


@pytest.fixture(scope="module")
def portfolio(world: RosterWorld) -> Iterator[None]:
    """The portfolio read model NRPS reads its memberships from, on the roster's database."""
    url = world.engine.url.render_as_string(hide_password=False)
    runner = RunnerThread(registry.get("portfolio"), world.env, url, lease_ttl=2.0)
    yield
    runner.stop()


def test_an_enrolment_a_bulk_file_leaves_out_is_dropped_once(
    world: RosterWorld, following: None, tmp_path: Path
) -> None:
    slug = tenant()
    hub = world.runtime.hub
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)
    quest = quest_id(slug, "oneroster", "class-1")
    ada_id = learner_id(slug, "oneroster", "s-2")
    until(lambda: learner(world, slug, "s-2").is_enrolled(quest))
    ada = learner(world, slug, "s-2")
    ada.enrol("spark-quest", "spark")  # an enrolment of another source
    hub.save(ada)
    files = school()
    files["enrollments"] = [e for e in files["enrollments"] if e["sourcedId"] != "e-3"]
    report = world.import_(write_bundle(tmp_path / "b.zip", files), slug)
    assert report.stats["enrollments"].deletes == 1
    until(lambda: not learner(world, slug, "s-2").is_enrolled(quest))
    assert learner(world, slug, "s-2").is_enrolled("spark-quest")
    assert learner(world, slug, "s-1").is_enrolled(quest)  # the others stay
    assert drops(world, ada_id) == [(quest, "oneroster")]
    # A restart repeats the batch: the policy applies it again and records nothing.
    version = learner(world, slug, "s-2").version
    batch = last_enrolment_batch(world, slug)
    assert list(batch.deletes) == ["e-3"]
    with closing(RosterPeople(env=dict(world.env))) as own:
        RosterPolicy(hub, own).apply(batch)
        RosterPolicy(hub, own).apply(batch)
    assert learner(world, slug, "s-2").version == version
    assert drops(world, ada_id) == [(quest, "oneroster")]
    # The record comes back: the learner is enrolled again.
    world.import_(write_bundle(tmp_path / "c.zip", school()), slug)
    until(lambda: learner(world, slug, "s-2").is_enrolled(quest))


def last_enrolment_batch(world: RosterWorld, slug: str) -> Any:
    rosters = world.rosters
    found = None
    for notification in rosters.recorder.select_notifications(1, 100_000):
        event = rosters.mapper.to_domain_event(notification)
        if (
            type(event).__qualname__ == "RosterImport.RecordsApplied"
            and tenant_of(event.originator_id) == slug
            and event.entity == "enrollments"
        ):
            found = event
    assert found is not None
    return found


def _deleted(sourced_id: str, user: str) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "status": "tobedeleted",
        "dateLastModified": STAMP,
        "classSourcedId": "class-1",
        "schoolSourcedId": "org-1",
        "userSourcedId": user,
        "role": "student",
    }


def test_a_delta_tobedeleted_drops_only_that_systems_enrolment(
    world: RosterWorld, following: None, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug, system="oneroster")
    world.import_(write_bundle(tmp_path / "b.zip", school()), slug, system="sims")
    ours, theirs = quest_id(slug, "oneroster", "class-1"), quest_id(slug, "sims", "class-1")
    # sims links its users by email to the learners oneroster registered: Sam is in both.
    until(lambda: learner(world, slug, "s-1").is_enrolled(theirs))
    assert learner(world, slug, "s-1").is_enrolled(ours)
    delta = {"enrollments": [_deleted("e-2", "s-1")]}
    world.import_(write_bundle(tmp_path / "d.zip", delta, mode="delta"), slug, system="oneroster")
    until(lambda: not learner(world, slug, "s-1").is_enrolled(ours))
    assert learner(world, slug, "s-1").is_enrolled(theirs)
    assert drops(world, learner_id(slug, "oneroster", "s-1")) == [(ours, "oneroster")]


def _roles(*rows: tuple[str, str, str]) -> Rows:
    return [
        {
            "sourcedId": f"r-{user}-{kind}",
            "userSourcedId": user,
            "roleType": kind,
            "role": role,
            "orgSourcedId": "org-1",
        }
        for user, kind, role in rows
    ]


def test_roster_users_get_the_hub_role_of_their_oneroster_role(
    world: RosterWorld, following: None, tmp_path: Path
) -> None:
    slug = tenant()
    files = school()
    files["users"].append(
        {
            "sourcedId": "a-1",
            "enabledUser": "true",
            "username": "a-1",
            "givenName": "Ann",
            "familyName": "Admin",
            "email": "ann@hill.example",
            "primaryOrgSourcedId": "org-1",
        }
    )
    files["roles"] = _roles(
        ("t-1", "primary", "teacher"),
        ("s-1", "primary", "student"),
        ("s-2", "primary", "student"),
        ("s-2", "secondary", "aide"),
        ("p-1", "primary", "guardian"),
        ("a-1", "primary", "districtAdministrator"),
    )
    world.import_(write_bundle(tmp_path / "a.zip", files), slug)
    until(lambda: learner(world, slug, "a-1").role == "admin")
    roles = {s: learner(world, slug, s).role for s in ("t-1", "s-1", "s-2", "p-1", "a-1")}
    assert roles == {
        "t-1": "teacher",
        "s-1": "student",
        "s-2": "student",  # a secondary role does not change the primary one
        "p-1": "guardian",
        "a-1": "admin",
    }
    # The tenant's roles.csv changes (a delta): the user's role follows.
    delta = {"roles": [dict(_roles(("s-2", "primary", "aide"))[0], status="active")]}
    delta["roles"][0]["dateLastModified"] = STAMP
    delta["roles"][0]["sourcedId"] = "r-s-2-primary"
    world.import_(write_bundle(tmp_path / "d.zip", delta, mode="delta"), slug)
    until(lambda: learner(world, slug, "s-2").role == "ta")


def test_without_roles_csv_teachers_and_agents_get_their_role_from_the_roster(
    world: RosterWorld, following: None, tmp_path: Path
) -> None:
    slug = tenant()
    hub = world.runtime.hub
    # Tess signed in from Spark first: the roster links to her but does not own her role.
    spark_tess = Learner(slug, "spark", "sub-1", "tess@hill.example", "Tess", "T", "student")
    hub.save(spark_tess, EmailIndex(slug, "tess@hill.example", spark_tess.id))
    files = school()
    files["users"].append(dict(files["users"][0], sourcedId="t-2", email="tom@hill.example"))
    files["enrollments"].append(dict(files["enrollments"][0], sourcedId="e-5", userSourcedId="t-2"))
    world.import_(write_bundle(tmp_path / "a.zip", files), slug)
    quest = quest_id(slug, "oneroster", "class-1")
    until(lambda: learner(world, slug, "t-2").is_enrolled(quest))  # the last enrolment
    assert learner(world, slug, "t-2").role == "teacher"  # from the teacher enrolment
    assert learner(world, slug, "p-1").role == "parent"  # the agent of a student
    assert learner(world, slug, "s-1").role == "student"
    tess: Learner = hub.repository.get(spark_tess.id)
    assert (tess.is_enrolled(quest), tess.role) == (True, "student")


def test_nrps_shows_roster_teachers_as_instructors(
    world: RosterWorld, following: None, portfolio: None, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)
    quest = quest_id(slug, "oneroster", "class-1")
    query = MembersQuery(slug, quest, None, 0, 100)

    def members() -> dict[str, list[str]]:
        return {m.user_id: role_uris(m.role) for m in context_members(world.engine, query)}

    until(lambda: len(members()) == 3)
    assert members() == {
        learner_id(slug, "oneroster", "t-1"): [INSTRUCTOR],
        learner_id(slug, "oneroster", "s-1"): [LEARNER],
        learner_id(slug, "oneroster", "s-2"): [LEARNER],
    }
    teachers = MembersQuery(slug, quest, ("teacher", "instructor"), 0, 100)
    assert [m.user_id for m in context_members(world.engine, teachers)] == [
        learner_id(slug, "oneroster", "t-1")
    ]
