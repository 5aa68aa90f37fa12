"""CSV import: a valid bundle applied in order, dry runs that change nothing, re-imports that
record nothing, bulk deletes and delta changes, error rows beside the good ones, tenants apart."""

from __future__ import annotations

import zipfile
from pathlib import Path

from hub.domain.learners import learner_id
from hub.domain.quests import quest_id
from projections.roster import class_members, import_errors, records, relationships
from tests.roster.bundles import csv_text, manifest_text, school, write_bundle
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


def head(world: RosterWorld) -> int:
    return world.rosters.recorder.max_notification_id() or 0


def test_a_dry_run_reports_changes_and_records_nothing(world: RosterWorld, tmp_path: Path) -> None:
    slug = tenant()
    before = head(world)
    report = world.import_(write_bundle(tmp_path / "b.zip", school()), slug, dry_run=True)
    assert report.dry_run
    assert {name: s.creates for name, s in report.stats.items()} == {
        "orgs": 1,
        "academicSessions": 1,
        "users": 4,
        "courses": 1,
        "classes": 1,
        "enrollments": 3,
    }
    assert head(world) == before
    assert records(world.engine, slug, "users") == []


def test_an_unchanged_reimport_records_nothing(world: RosterWorld, tmp_path: Path) -> None:
    slug = tenant()
    bundle = write_bundle(tmp_path / "b.zip", school())
    world.import_(bundle, slug)
    before = head(world)
    again = world.import_(bundle, slug)
    assert not again.changed
    assert again.job_id is None
    assert again.stats["enrollments"].unchanged == 3
    assert head(world) == before


def test_a_bulk_file_deletes_what_it_leaves_out_and_updates_what_changed(
    world: RosterWorld, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)
    files = school()
    files["enrollments"] = files["enrollments"][:2]
    files["users"][0]["givenName"] = "Tessa"
    report = world.import_(write_bundle(tmp_path / "b.zip", files), slug)
    assert (report.stats["enrollments"].deletes, report.stats["users"].updates) == (1, 1)
    assert [r.sourced_id for r in records(world.engine, slug, "enrollments")] == ["e-1", "e-2"]
    [tess] = [r for r in records(world.engine, slug, "users") if r.sourced_id == "t-1"]
    assert tess.fields["givenName"] == "Tessa"


def test_a_delta_file_changes_and_deletes_only_what_it_names(
    world: RosterWorld, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)
    stamp = "2025-10-01T08:00:00.000Z"
    delta = {
        "enrollments": [
            {
                "sourcedId": "e-2",
                "status": "tobedeleted",
                "dateLastModified": stamp,
                "classSourcedId": "class-1",
                "schoolSourcedId": "org-1",
                "userSourcedId": "s-1",
                "role": "student",
            },
            {
                "sourcedId": "e-4",
                "status": "active",
                "dateLastModified": stamp,
                "classSourcedId": "class-1",
                "schoolSourcedId": "org-1",
                "userSourcedId": "p-1",
                "role": "administrator",
            },
        ]
    }
    report = world.import_(write_bundle(tmp_path / "d.zip", delta, mode="delta"), slug)
    assert (report.stats["enrollments"].creates, report.stats["enrollments"].deletes) == (1, 1)
    assert [r.sourced_id for r in records(world.engine, slug, "enrollments")] == [
        "e-1",
        "e-3",
        "e-4",
    ]


def test_a_delta_row_needs_status_and_date_last_modified(
    world: RosterWorld, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)
    delta = {"orgs": [{"sourcedId": "org-2", "name": "Dale School", "type": "school"}]}
    report = world.import_(write_bundle(tmp_path / "d.zip", delta, mode="delta"), slug)
    assert sorted((e.column, e.code) for e in report.errors) == [
        ("dateLastModified", "missing-value"),
        ("status", "missing-value"),
    ]


def test_bad_rows_are_reported_and_good_rows_applied(world: RosterWorld, tmp_path: Path) -> None:
    slug = tenant()
    files = school()
    files["users"].append(dict(files["users"][0], givenName="Twin"))  # duplicate t-1
    files["enrollments"] += [
        dict(files["enrollments"][0], sourcedId="e-8", userSourcedId="nobody"),
        dict(files["enrollments"][0], sourcedId="e-9", role="headmaster"),
    ]
    files["academicSessions"].append(
        dict(files["academicSessions"][0], sourcedId="term-2", startDate="2025-02-30")
    )
    report = world.import_(write_bundle(tmp_path / "b.zip", files), slug)
    found = sorted((e.file, e.row, e.column, e.code) for e in report.errors)
    assert found == [
        ("academicSessions.csv", 3, "startDate", "invalid-date"),
        ("enrollments.csv", 5, "userSourcedId", "unresolved-reference"),
        ("enrollments.csv", 6, "role", "unknown-role"),
        ("users.csv", 6, "sourcedId", "duplicate-sourced-id"),
    ]
    assert report.stats["enrollments"].creates == 3
    downloaded = import_errors(world.engine, slug, report.import_id or "")
    assert downloaded is not None
    assert sorted((e["file"], e["row"], e["column"], e["code"]) for e in downloaded) == found
    [tess] = [r for r in records(world.engine, slug, "users") if r.sourced_id == "t-1"]
    assert tess.fields["givenName"] == "Tess"


def test_tenants_are_kept_apart(world: RosterWorld, tmp_path: Path) -> None:
    first, second = tenant(), tenant()
    bundle = write_bundle(tmp_path / "b.zip", school())
    world.import_(bundle, first)
    report = world.import_(bundle, second)
    assert report.stats["users"].creates == 4  # nothing of the first tenant's is "known"
    files = school()
    files["enrollments"] = []
    world.import_(write_bundle(tmp_path / "c.zip", files), second)
    assert len(records(world.engine, first, "enrollments")) == 3
    assert records(world.engine, second, "enrollments") == []
    assert class_members(world.engine, second, quest_id(first, "oneroster", "class-1")) == []


def test_a_file_unreadable_midway_keeps_what_was_read_and_deletes_nothing(
    world: RosterWorld, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "a.zip", school()), slug)
    files = school()
    # Far past the first block the reader decodes, so that the header reads and rows start.
    files["enrollments"] = [
        dict(files["enrollments"][0], sourcedId=f"e-x{n:04}") for n in range(1500)
    ]
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("manifest.csv", manifest_text(dict.fromkeys(files, "bulk")))
        for name, rows in files.items():
            text = csv_text(name, rows).encode()
            if name == "enrollments":
                text += b"e-9,,,class-1,org-1,s-1,student,,,\xff\xfe\r\n"
            bundle.writestr(f"{name}.csv", text)
    report = world.import_(path, slug)
    assert [(e.file, e.code) for e in report.errors] == [("enrollments.csv", "not-utf8")]
    assert report.stats["enrollments"].deletes == 0
    assert 0 < report.stats["enrollments"].creates < 1500
    kept = {r.sourced_id for r in records(world.engine, slug, "enrollments")}
    assert {"e-1", "e-2", "e-3"} <= kept
