"""`hub tenant …` and `hub spark rotate|update|show` on the real runtime (session nats-server)."""

from __future__ import annotations

import json

from hub.domain.spark import spark_connection_id
from hub.domain.tenants import tenant_id
from hub.spark.connection import connect_spark, open_secrets, spark_connection
from infra.secrets import api_key_matches
from tests.hub.cli_support import Opener, contexts, hub


def test_tenant_list_show_and_rename(cli_env: dict[str, str], open_runtime: Opener) -> None:
    first = open_runtime()
    for slug in ("beta", "alpha"):
        first.hub.register_tenant(slug, slug.title(), first.box)
    code, out = hub(cli_env, "tenant", "list")
    assert code == 0, out
    assert out.splitlines() == ["alpha\tAlpha\tversion 1", "beta\tBeta\tversion 1"]
    code, out = hub(cli_env, "tenant", "list", "--limit", "1")
    assert out.splitlines() == ["alpha\tAlpha\tversion 1", "(more: --after alpha)"]
    code, out = hub(cli_env, "tenant", "rename", "alpha", "Alpha Academy")
    assert code == 0, out
    assert "renamed 'Alpha Academy' at log position" in out
    code, out = hub(cli_env, "tenant", "show", "alpha")
    assert code == 0, out
    shown = json.loads(out)
    assert (shown["slug"], shown["name"], shown["version"]) == ("alpha", "Alpha Academy", 2)
    assert contexts(open_runtime(), tenant_id("alpha"))[-1] == (
        "Tenant.Renamed",
        "cli:admin",
        "operator",
    )


def test_tenant_rotate_prints_the_new_key_once(
    cli_env: dict[str, str], open_runtime: Opener
) -> None:
    first = open_runtime()
    old = first.hub.register_tenant("acme", "Acme", first.box)
    code, out = hub(cli_env, "tenant", "rotate", "acme", "--which", "api_key")
    assert code == 0, out
    [new] = [w for w in out.split() if w.startswith("hubk_")]
    stored = open_runtime().hub.tenant("acme")
    assert stored is not None
    assert api_key_matches(new, stored.api_key_hashes[0])
    assert old.api_key not in out
    assert contexts(open_runtime(), tenant_id("acme"))[-1] == (
        "Tenant.ApiKeyRotated",
        "cli:admin",
        "operator",
    )


def test_tenant_commands_refuse_unknown_tenants_and_kinds(cli_env: dict[str, str]) -> None:
    assert hub(cli_env, "tenant", "show", "nobody")[0] == 1
    assert hub(cli_env, "tenant", "rename", "nobody", "N")[0] == 1
    code, out = hub(cli_env, "tenant", "rotate", "nobody", "--which", "password")
    assert code == 2
    assert "password" in out


def test_spark_rotate_update_and_show(cli_env: dict[str, str], open_runtime: Opener) -> None:
    first = open_runtime()
    first.hub.register_tenant("acme", "Acme", first.box)
    made = connect_spark(first.hub, first.box, "acme", "https://spark.example/api")
    code, out = hub(cli_env, "spark", "rotate", "acme", "--which", "webhook", "--overlap", "600")
    assert code == 0, out
    [new] = [w for w in out.split() if w.startswith("sparkwh_")]
    assert "the old one verifies until" in out
    code, out = hub(
        cli_env, "spark", "update", "acme", "--webhook-limit", "7", "--allow-host", "a.b"
    )
    assert code == 0, out
    after = open_runtime()
    found = spark_connection(after.hub, "acme")
    assert found is not None
    assert open_secrets(found, after.box).webhook == (new, made.webhook_secret)
    assert (found.webhook_limit_per_minute, found.allowed_evidence_hosts) == (7, ["a.b"])
    code, out = hub(cli_env, "spark", "show", "acme")
    assert code == 0, out
    assert json.loads(out)["webhook_limit_per_minute"] == 7
    assert new not in out
    assert made.sso_secret not in out
    assert [c[1:] for c in contexts(open_runtime(), spark_connection_id("acme"))[1:]] == [
        ("cli:admin", "operator"),
        ("cli:admin", "operator"),
    ]


def test_spark_commands_refuse_a_tenant_without_spark(
    cli_env: dict[str, str], open_runtime: Opener
) -> None:
    first = open_runtime()
    first.hub.register_tenant("lone", "Lone", first.box)
    code, out = hub(cli_env, "spark", "rotate", "lone", "--which", "sso")
    assert code == 1
    assert "not connected" in out
    assert hub(cli_env, "spark", "show", "lone")[0] == 1
    assert hub(cli_env, "spark", "rotate", "lone", "--which", "sso", "--overlap", "-1")[0] == 2
