"""CSV import: a valid bundle applied in order, dry runs that change nothing, re-imports that
record nothing, bulk deletes and delta changes, error rows beside the good ones, tenants apart."""

from __future__ import annotations

from pathlib import Path

from hub.domain.learners import learner_id
from hub.domain.quests import quest_id
from projections.roster import class_members, relationships
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, tenant


def test_a_valid_bundle_is_applied_and_feeds_class_members(
    world: RosterWorld, tmp_path: Path
) -> None:
    slug = tenant()
    report = world.import_(write_bundle(tmp_path / "b.zip", school()), slug)
    assert report.stats["users"].creates == 4
    assert report.stats["enrollments"].creates == 3
    assert report.errors == []
    members = class_members(world.engine, slug, quest_id(slug, "oneroster", "class-1"))
    assert [(m.sourced_id, m.role) for m in members] == [
        ("s-1", "student"),
        ("s-2", "student"),
        ("t-1", "teacher"),
    ]
    assert members[0].user_id == learner_id(slug, "oneroster", "s-1")
    assert members[0].email == "sam@hill.example"
    assert [(r.user_sourced_id, r.agent_sourced_id) for r in relationships(world.engine, slug)] == [
        ("s-1", "p-1")
    ]
