"""Bundles refused whole, with nothing applied: wrong headers, unsafe paths, zip bombs, files
too large, manifests that disagree with the bundle."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hub.roster.bundle import Limits
from hub.roster.errors import BundleRefusedError
from projections.roster import records
from schemas.oneroster import FILES
from tests.roster.bundles import manifest_text, school, write_bundle
from tests.roster.conftest import RosterWorld, tenant


def refusal(
    world: RosterWorld, path: Path, limits: Limits | None = None
) -> list[tuple[str, str, str]]:
    slug = tenant()
    before = world.rosters.recorder.max_notification_id()
    with pytest.raises(BundleRefusedError) as refused:
        world.import_(path, slug, limits=limits)
    assert world.rosters.recorder.max_notification_id() == before
    assert records(world.engine, slug, "orgs") == []
    return [(p.file, p.column, p.code) for p in refused.value.problems]


def users_header(change: str, to: str | None) -> list[str]:
    header = list(FILES["users"].header)
    at = header.index(change)
    if to is None:
        del header[at]
    else:
        header[at] = to
    return header


def test_a_missing_header_refuses_the_bundle(world: RosterWorld, tmp_path: Path) -> None:
    path = write_bundle(
        tmp_path / "b.zip", school(), headers={"users": users_header("givenName", None)}
    )
    assert refusal(world, path) == [("users.csv", "givenName", "missing-header")]


def test_a_misspelled_header_refuses_the_bundle(world: RosterWorld, tmp_path: Path) -> None:
    path = write_bundle(
        tmp_path / "b.zip", school(), headers={"users": users_header("givenName", "givenname")}
    )
    assert refusal(world, path) == [("users.csv", "givenName", "misspelled-header")]


def test_a_column_other_than_metadata_after_the_spec_ones_is_refused(
    world: RosterWorld, tmp_path: Path
) -> None:
    header = [*FILES["orgs"].header, "nickname"]
    path = write_bundle(tmp_path / "b.zip", school(), headers={"orgs": header})
    assert refusal(world, path) == [("orgs.csv", "nickname", "unexpected-header")]


def test_metadata_columns_are_kept(world: RosterWorld, tmp_path: Path) -> None:
    files = school()
    files["orgs"][0]["metadata.district"] = "North"
    header = [*FILES["orgs"].header, "metadata.district"]
    slug = tenant()
    world.import_(write_bundle(tmp_path / "b.zip", files, headers={"orgs": header}), slug)
    [org] = records(world.engine, slug, "orgs")
    assert org.fields["metadata.district"] == "North"


@pytest.mark.parametrize("name", ["../users.csv", "/etc/users.csv", "sub/users.csv", "..\\x.csv"])
def test_a_path_outside_the_bundle_root_is_refused(
    world: RosterWorld, tmp_path: Path, name: str
) -> None:
    path = write_bundle(tmp_path / "b.zip", school(), extra={name: b"x"})
    assert refusal(world, path) == [(name, "", "unsafe-path")]


def test_a_zip_bomb_is_refused(world: RosterWorld, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.csv", manifest_text({"users": "bulk"}))
        bundle.writestr("users.csv", b"0" * (8 << 20))
    assert refusal(world, path) == [("users.csv", "", "zip-bomb")]


def test_a_file_above_the_size_limit_is_refused(world: RosterWorld, tmp_path: Path) -> None:
    # The 2 GB file of the issue, scaled: the same check with a limit a test can pass.
    files = school()
    files["users"] += [dict(files["users"][0], sourcedId=f"u-{n}") for n in range(100)]
    path = write_bundle(tmp_path / "b.zip", files)
    found = refusal(world, path, limits=Limits(max_entry_bytes=4000))
    assert found == [("users.csv", "", "file-too-large")]


def test_not_a_zip_is_refused(world: RosterWorld, tmp_path: Path) -> None:
    path = tmp_path / "b.zip"
    path.write_text("sourcedId,status\n")
    assert refusal(world, path) == [("b.zip", "", "not-a-zip")]


def test_a_manifest_that_disagrees_with_the_bundle_is_refused(
    world: RosterWorld, tmp_path: Path
) -> None:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("manifest.csv", manifest_text({"orgs": "bulk", "users": "bulk"}))
        bundle.writestr("orgs.csv", ",".join(FILES["orgs"].header) + "\r\n")
    assert refusal(world, path) == [("manifest.csv", "file.users", "missing-file")]


def test_a_bundle_without_a_manifest_is_refused(world: RosterWorld, tmp_path: Path) -> None:
    path = tmp_path / "b.zip"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("orgs.csv", ",".join(FILES["orgs"].header) + "\r\n")
    assert refusal(world, path) == [("manifest.csv", "", "missing-manifest")]
