"""`hub client` and `hub rate-limits` as an admin runs them: real processes, the session's NATS."""

from __future__ import annotations

import json
from pathlib import Path

from hub.bootstrap import build_runtime
from hub.domain.api_clients import api_client_id
from infra.settings import Settings
from tests.hub.test_cli import _env, _hub


def test_an_admin_manages_clients_and_limits_from_the_command_line(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    env = _env(HUB_NATS_URL=nats_url, HUB_STREAM_PREFIX=stream_prefix, HUB_DATA_DIR=str(tmp_path))
    assert _hub("tenant", "create", "Acme", env=env).returncode == 0
    made = _hub("client", "create", "acme", "--name", "Sync", "--scope", "roster:read", env=env)
    assert made.returncode == 0, made.stderr
    fields = dict(line.split(":", 1) for line in made.stdout.splitlines())
    client_id = fields["client_id"].strip()
    secret = fields["client_secret"].split()[0]
    assert secret.startswith("hubcs_")
    assert secret not in made.stderr  # never logged
    listed = _hub("client", "list", "acme", env=env)
    assert [json.loads(line) for line in listed.stdout.splitlines()] == [
        {"client_id": client_id, "name": "Sync", "scopes": ["roster:read"], "revoked": False}
    ]
    assert secret not in listed.stdout
    assert _hub("client", "revoke", "acme", client_id, env=env).returncode == 0
    again = _hub("client", "revoke", "acme", client_id, env=env)
    assert (again.returncode, again.stderr.strip()) == (
        1,
        f"hub: client {client_id} is already revoked",
    )
    bad_scope = _hub("client", "create", "acme", "--name", "x", "--scope", "all", env=env)
    assert bad_scope.returncode == 1
    limits = _hub(
        "rate-limits",
        "set",
        "acme",
        "--tenant-per-minute",
        "500",
        "--client-per-minute",
        "50",
        env=env,
    )
    assert limits.returncode == 0, limits.stderr
    shown = json.loads(_hub("rate-limits", "show", "acme", env=env).stdout)
    assert shown == {
        "tenant": "acme",
        "configured": True,
        "tenant_per_minute": 500,
        "client_per_minute": 50,
    }
    runtime = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
    try:
        events = list(runtime.hub.repository.event_store.get(api_client_id("acme", client_id)))
        assert [e.context["source"] for e in events] == ["cli:admin", "cli:admin"]  # type: ignore[attr-defined]
    finally:
        runtime.hub.close()
