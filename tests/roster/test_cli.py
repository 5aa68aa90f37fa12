"""`hub roster import` and `hub roster export` as an admin runs them (real processes)."""

from __future__ import annotations

from pathlib import Path

from tests.hub.test_cli import _env, _hub
from tests.roster.bundles import school, write_bundle


def test_import_dry_run_import_again_and_export(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    env = _env(HUB_NATS_URL=nats_url, HUB_STREAM_PREFIX=stream_prefix, HUB_DATA_DIR=str(tmp_path))
    assert _hub("tenant", "create", "Hill School", env=env).returncode == 0
    bundle = write_bundle(tmp_path / "b.zip", school())
    dry = _hub("roster", "import", str(bundle), "--tenant", "hill-school", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would change" in dry.stdout
    assert "enrollments" in dry.stdout
    done = _hub("roster", "import", str(bundle), "--tenant", "hill-school", env=env)
    assert done.returncode == 0, done.stderr
    assert "recorded as hill-school.RosterImport." in done.stdout
    again = _hub("roster", "import", str(bundle), "--tenant", "hill-school", env=env)
    assert "nothing changed: nothing recorded" in again.stdout
    out = tmp_path / "out.zip"
    exported = _hub("roster", "export", str(out), "--tenant", "hill-school", env=env)
    assert exported.returncode == 0, exported.stderr
    assert "3 enrollments" in exported.stdout


def test_a_refused_bundle_exits_with_the_reason(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    env = _env(HUB_NATS_URL=nats_url, HUB_STREAM_PREFIX=stream_prefix, HUB_DATA_DIR=str(tmp_path))
    assert _hub("tenant", "create", "Dale", env=env).returncode == 0
    bad = write_bundle(tmp_path / "b.zip", school(), extra={"../x.csv": b"x"})
    refused = _hub("roster", "import", str(bad), "--tenant", "dale", env=env)
    assert refused.returncode == 1
    assert "files must sit at the bundle's root" in refused.stderr
