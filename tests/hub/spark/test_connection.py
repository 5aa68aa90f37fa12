"""Connecting a tenant to Spark: secrets sealed and shown once, cached lookups, admin API, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from hub.bootstrap import Runtime, build_runtime
from hub.spark.connection import (
    API_KEY_PLACEHOLDER,
    ConnectionCache,
    SparkAlreadyConnectedError,
    UnknownTenantError,
    connect_spark,
    open_secrets,
    spark_connection,
)
from infra.settings import Settings
from tests.hub.http.conftest import admin
from tests.hub.spark.signals import sso_token

HUB = str(Path(sys.executable).parent / "hub")


def test_the_secrets_are_sealed_per_tenant_and_purpose(runtime: Runtime) -> None:
    runtime.hub.register_tenant("acme", "Acme", runtime.box)
    made = connect_spark(
        runtime.hub,
        runtime.box,
        "acme",
        "https://spark.example/api/",
        issuer="spark-lms",
        allowed_evidence_hosts=["Files.Spark.example", " "],
    )
    found = spark_connection(runtime.hub, "acme")
    assert found is not None
    assert found.api_url == "https://spark.example/api"
    assert found.allowed_evidence_hosts == ["files.spark.example"]
    assert made.sso_secret not in found.sso_secret_sealed
    assert made.webhook_secret not in found.webhook_secret_sealed
    assert made.api_key == API_KEY_PLACEHOLDER
    opened = open_secrets(found, runtime.box)
    assert opened.sso == (made.sso_secret,)
    assert opened.webhook == (made.webhook_secret,)
    assert made.sso_secret != made.webhook_secret
    with pytest.raises(SparkAlreadyConnectedError):
        connect_spark(runtime.hub, runtime.box, "acme", "https://spark.example/api")
    with pytest.raises(UnknownTenantError):
        connect_spark(runtime.hub, runtime.box, "nobody", "https://spark.example/api")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lookups_are_cached_for_a_while_and_invalidated_on_change(runtime: Runtime) -> None:
    runtime.hub.register_tenant("acme", "Acme", runtime.box)
    clock = Clock()
    cache = ConnectionCache(ttl_s=30, missing_ttl_s=5, clock=clock)
    assert cache.get(runtime.hub, "acme") is None
    connect_spark(runtime.hub, runtime.box, "acme", "https://spark.example/api")
    assert cache.get(runtime.hub, "acme") is None  # another process's cache: not told
    clock.now += 6
    found = cache.get(runtime.hub, "acme")
    assert found is not None
    assert cache.get(runtime.hub, "acme") is found  # not read again
    cache.invalidate("acme")
    assert cache.get(runtime.hub, "acme") is not found


def test_the_admin_api_connects_once_and_never_shows_the_secrets_again(
    client: httpx.Client, runtime: Runtime
) -> None:
    client.post("/api/v1/admin/tenants", headers=admin(), json={"slug": "acme", "name": "Acme"})
    # Looked up before it is connected: the answer "not connected" is cached...
    assert client.get("/t/acme/spark/sso", params={"token": "x"}).status_code == 404
    made = client.post(
        "/api/v1/admin/tenants/acme/spark",
        headers=admin(),
        json={
            "api_url": "https://spark.example/api",
            "issuer": "spark-lms",
            "allowed_evidence_hosts": ["files.spark.example"],
            "webhook_limit_per_minute": 50,
            "api_key": "spark-key-1",
        },
    )
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    secrets = made.json()
    assert secrets["api_key"] == "spark-key-1"
    # ...and forgotten when this process connects it.
    token = sso_token(secrets["sso_secret"])
    assert client.get("/t/acme/spark/sso", params={"token": token}).status_code == 303
    read = client.get("/api/v1/admin/tenants/acme/spark", headers=admin())
    assert read.status_code == 200
    assert read.json()["webhook_limit_per_minute"] == 50
    assert read.json()["allowed_evidence_hosts"] == ["files.spark.example"]
    for secret in (secrets["sso_secret"], secrets["webhook_secret"], "spark-key-1"):
        assert secret not in read.text
    again = client.post(
        "/api/v1/admin/tenants/acme/spark",
        headers=admin(),
        json={"api_url": "https://spark.example/api"},
    )
    assert again.status_code == 409
    assert again.json()["type"] == "https://hub.example/problems/spark-already-connected"


def test_the_admin_api_answers_404_for_an_unknown_tenant_and_401_without_a_token(
    client: httpx.Client,
) -> None:
    body = {"api_url": "https://spark.example/api"}
    assert (
        client.post("/api/v1/admin/tenants/nobody/spark", headers=admin(), json=body).status_code
        == 404
    )
    assert client.get("/api/v1/admin/tenants/nobody/spark", headers=admin()).status_code == 404
    assert client.post("/api/v1/admin/tenants/nobody/spark", json=body).status_code == 401


def test_admins_read_a_tenant_s_rejections(client: httpx.Client, runtime: Runtime) -> None:
    client.post("/api/v1/admin/tenants", headers=admin(), json={"slug": "acme", "name": "Acme"})
    client.post(
        "/api/v1/admin/tenants/acme/spark",
        headers=admin(),
        json={"api_url": "https://spark.example/api"},
    )
    client.get("/t/acme/spark/sso", params={"token": "forged.token.here"})
    client.get("/t/acme/spark/sso")
    response = client.get("/api/v1/admin/tenants/acme/spark/rejections", headers=admin())
    assert response.status_code == 200
    assert [r["reason"] for r in response.json()] == ["token_malformed", "token_missing"]
    after = response.json()[0]["position"]
    later = client.get(
        "/api/v1/admin/tenants/acme/spark/rejections", headers=admin(), params={"after": after}
    )
    assert [r["reason"] for r in later.json()] == ["token_missing"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(extra)
    return env


def test_hub_spark_connect_prints_the_secrets_once(
    nats_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    env = _env(
        HUB_NATS_URL=nats_url,
        HUB_STREAM_PREFIX=stream_prefix,
        HUB_DATA_DIR=str(tmp_path),
        HUB_SPARK_API_KEY="key-from-env",
    )
    run = [
        HUB,
        "spark",
        "connect",
        "acme",
        "--api-url",
        "https://spark.example/api",
        "--allow-host",
        "files.spark.example",
        "--allow-host",
        "cdn.spark.example",
    ]
    created = subprocess.run(
        [HUB, "tenant", "create", "Acme", "--slug", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    first = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert "sparksso_" not in first.stderr
    again = subprocess.run(run, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 1
    assert "already has a Spark connection" in again.stderr
    runtime = build_runtime(Settings(data_dir=tmp_path, stream_prefix=stream_prefix), nats_url)
    try:
        found = spark_connection(runtime.hub, "acme")
        assert found is not None
        assert found.allowed_evidence_hosts == ["cdn.spark.example", "files.spark.example"]
        opened = open_secrets(found, runtime.box)
        assert f"SSO secret      {opened.sso[0]}" in first.stdout
        assert f"webhook secret  {opened.webhook[0]}" in first.stdout
        assert "course sync stays off" not in first.stdout  # the key came from the environment
    finally:
        runtime.hub.close()
