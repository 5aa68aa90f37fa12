"""CSV export: export -> import -> export gives identical bytes; formula cells exported safely."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from hub.roster.export import export_bundle
from projections.roster import record_pages
from tests.roster.bundles import school, write_bundle
from tests.roster.conftest import RosterWorld, tenant


def export(world: RosterWorld, slug: str, path: Path) -> bytes:
    export_bundle(
        lambda entity: record_pages(world.engine, slug, entity, "oneroster", page=2),
        path,
        system="oneroster",
    )
    return path.read_bytes()


def test_export_import_export_gives_identical_bytes(world: RosterWorld, tmp_path: Path) -> None:
    first, second = tenant(), tenant()
    files = school()
    files["users"][0]["givenName"] = 'Tess, "T"\nJones'
    world.import_(write_bundle(tmp_path / "in.zip", files), first)
    exported = export(world, first, tmp_path / "one.zip")
    report = world.import_(tmp_path / "one.zip", second)
    assert report.errors == []
    assert export(world, second, tmp_path / "two.zip") == exported
    again = world.import_(tmp_path / "two.zip", second)
    assert not again.changed


def test_formula_cells_are_exported_behind_a_quote_and_read_back_whole(
    world: RosterWorld, tmp_path: Path
) -> None:
    slug = tenant()
    world.import_(write_bundle(tmp_path / "in.zip", school()), slug)
    export(world, slug, tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as bundle:
        text = bundle.read("users.csv").decode()
    emails = {row["sourcedId"]: row["email"] for row in csv.DictReader(io.StringIO(text))}
    assert emails["s-2"] == "'=cmd|' /C calc'!A0"
    assert emails["s-1"] == "sam@hill.example"
    other = tenant()
    world.import_(tmp_path / "out.zip", other)
    users = {
        sourced_id: fields
        for page in record_pages(world.engine, other, "users", "oneroster")
        for sourced_id, fields in page
    }
    assert users["s-2"]["email"] == "=cmd|' /C calc'!A0"
