"""The roster in the hub's terms: users as Learners (linked by email to a learner who signed
in first), classes as Quests, student enrolments, guardian links from agentSourcedIds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from connectors.sis.connections import conflicts, set_precedence
from hub.domain.guardians import Guardianship, guardianship_id
from hub.domain.learners import EmailIndex, Identity, Learner, identity_id, learner_id
from hub.domain.quests import Quest, quest_id
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, eventually, tenant


def test_users_classes_enrolments_and_guardians_become_the_hubs_own(
    world: RosterWorld, following: None, tmp_path: Path
) -> None:
    slug = tenant()
    hub = world.runtime.hub
    # Sam signed in from Spark before the roster arrived: the roster links to that learner.
    spark_sam = Learner(slug, "spark", "sub-9", "Sam@Hill.example", "Sam", "S", "student")
    hub.save(spark_sam, EmailIndex(slug, "sam@hill.example", spark_sam.id))
    world.import_(write_bundle(tmp_path / "b.zip", school()), slug)
    link = eventually(
        lambda: hub.repository.get(
            guardianship_id(slug, learner_id(slug, "oneroster", "p-1"), spark_sam.id)
        )
    )
    assert isinstance(link, Guardianship)
    claimed: Identity = hub.repository.get(identity_id(slug, "oneroster", "s-1"))
    assert claimed.learner_id == spark_sam.id
    quest = eventually(lambda: hub.repository.get(quest_id(slug, "oneroster", "class-1")))
    assert isinstance(quest, Quest)
    assert quest.details["title"] == "Biology 7A"
    ada: Learner = eventually(lambda: hub.repository.get(learner_id(slug, "oneroster", "s-2")))
    assert ada.given_name == "Ada"

    def enrolled() -> Learner:
        sam: Learner = hub.repository.get(spark_sam.id)
        if not sam.is_enrolled(quest.id):
            raise AggregateNotFoundError(quest.id)
        return sam

    assert eventually(enrolled).is_enrolled(quest.id)
    teacher: Learner = hub.repository.get(learner_id(slug, "oneroster", "t-1"))
    # teachers are members of the quest too, with their role (NRPS shows them as Instructor)
    assert (teacher.is_enrolled(quest.id), teacher.role) == (True, "teacher")


def test_sources_that_disagree_are_reported_and_win_only_by_precedence(
    world: RosterWorld, following: None, tmp_path: Path
) -> None:
    slug = tenant()
    hub = world.runtime.hub
    spark_sam = Learner(slug, "spark", "sub-1", "sam@hill.example", "Sam", "S", "student")
    hub.save(spark_sam, EmailIndex(slug, "sam@hill.example", spark_sam.id))
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)

    def reported(applied: bool) -> list[dict[str, Any]]:
        found = [c for c in conflicts(hub, slug) if c["applied"] is applied]
        if not found:
            raise AggregateNotFoundError(slug)
        return found

    [first] = eventually(lambda: reported(applied=False))
    assert first["owner"] == "spark"
    assert first["fields"] == {"familyName": ["S", "Student"]}
    sam: Learner = hub.repository.get(spark_sam.id)
    assert sam.family_name == "S"  # never silently overwritten
    set_precedence(hub, slug, ["oneroster", "spark"])
    files = school()
    files["users"][1]["familyName"] = "Studentson"
    world.import_(write_bundle(tmp_path / "b.zip", files), slug)
    [won] = eventually(lambda: reported(applied=True))
    assert won["fields"] == {"familyName": ["S", "Studentson"]}
    sam = hub.repository.get(spark_sam.id)
    assert sam.family_name == "Studentson"
