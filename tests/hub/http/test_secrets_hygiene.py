"""Every kind of secret: shown once (no-store), never logged, stored in clear or read back.

One sweep: create each secret through the admin API, then call every admin GET route and
look for each secret in the responses, in every log line of the run, in every event of the
log and in every audit record.
"""

from __future__ import annotations

import json
import logging
from string import Formatter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from structlog.testing import capture_logs

from hub.audit import rejections
from hub.bootstrap import Runtime
from hub.replay import ReplayFilter, replay
from infra.nats_client import NatsConnection
from tests.hub.http.conftest import admin
from tests.hub.http.test_badges_admin import SCHOLAR
from tests.lti.platform.world import tool_settings

T = "/api/v1/admin/tenants/acme"
# Path parameters of the admin GET routes: the objects the sweep made (others: unknown ids).
PATH_VALUES = {"slug": "acme", "tenant": "acme", "client_id": "quiz-1", "key": "stem-scholar"}


class Shown:
    """The secrets the API showed (each once), checked as it goes."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.secrets: list[str] = []

    def post(self, url: str, body: dict[str, Any], *fields: str, method: str = "POST") -> Any:
        response = self.client.request(method, url, headers=admin(), json=body)
        assert response.status_code in {200, 201}, response.text
        if fields:
            assert response.headers["cache-control"] == "no-store", url
        found = response.json()
        self.secrets += [found[name] for name in fields]
        return found

    def given(self, *secrets: str) -> None:
        """Secrets the admin sent in (a partner's key): never shown back either."""
        self.secrets += secrets


def make_every_secret(shown: Shown, app: FastAPI) -> None:
    tenants = "/api/v1/admin/tenants"
    shown.post(tenants, {"slug": "acme", "name": "Acme"}, "api_key", "webhook_secret")
    for which in ("api_key", "webhook"):
        shown.post(f"{T}/secrets/rotate", {"which": which}, "secret")
    spark_key = "spark-api-key-given-0123456789"
    shown.given(spark_key)
    shown.post(
        f"{T}/spark",
        {"api_url": "https://spark.example/api", "api_key": spark_key},
        "sso_secret",
        "webhook_secret",
    )
    for which in ("sso", "webhook"):
        shown.post(f"{T}/spark/secrets/rotate", {"which": which}, "secret")
    new_spark_key = "spark-api-key-updated-987654321"
    shown.given(new_spark_key)
    shown.post(f"{T}/spark", {"api_key": new_spark_key}, method="PATCH")
    tool = tool_settings(client_id="quiz-1", jwks_url="https://quiz.example/jwks")
    shown.post(f"{T}/lti/tools", tool)
    shown.post(f"{T}/lti/keys/rotate", {})
    private = app.state.lti_platform.keys.signing_key("acme").key.as_dict(private=True)
    shown.given(private["d"], private["p"], private["q"])
    shown.post(f"{T}/roster/clients", {"name": "district"}, "client_secret")
    sis_secret = "sis-client-secret-given-abcdef"
    shown.given(sis_secret)
    shown.post(
        f"{T}/roster/connectors",
        {
            "name": "district-sis",
            "kind": "oneroster-rest",
            "config": {
                "base_url": "https://sis.example/ims/oneroster/v1p2",
                "token_url": "https://sis.example/token",
                "client_id": "hub",
            },
            "secret": sis_secret,
        },
    )
    caliper_token = "caliper-bearer-given-0123456789"
    shown.given(caliper_token)
    shown.post(
        f"{T}/caliper",
        {"endpoint_url": "https://lrs.example/caliper", "bearer_token": caliper_token},
        method="PUT",
    )
    shown.post(f"{T}/badges", SCHOLAR)


def admin_get_paths(app: FastAPI) -> list[str]:
    """Every admin GET route (from the OpenAPI document: it lists every route, included or not)."""
    paths = []
    for template, operations in app.openapi()["paths"].items():
        if "get" not in operations or not template.startswith(("/api/v1/admin", "/api/admin")):
            continue
        names = [name for _, name, _, _ in Formatter().parse(template) if name]
        paths.append(template.format(**{n: PATH_VALUES.get(n, "unknown") for n in names}))
    return paths


def stored_events(runtime: Runtime) -> list[str]:
    connection = NatsConnection.shared(runtime.nats_url)
    records = replay(connection, runtime.settings.stream_prefix, ReplayFilter())
    return [json.dumps(record, default=str) for record in records]


def audit_records(runtime: Runtime) -> list[str]:
    connection = NatsConnection.shared(runtime.nats_url)
    found = rejections(connection, runtime.settings.stream_prefix, None, limit=1000)
    return [json.dumps(vars(r), default=str) for r in found]


def test_no_secret_is_logged_stored_in_clear_or_read_back(
    client: httpx.Client, app: FastAPI, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    shown = Shown(client)
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        make_every_secret(shown, app)
        # A refused signal signed with a rotated-out secret: its audit record holds no secret.
        client.post(
            "/t/acme/spark/webhook/roster", content=b"{}", headers={"X-Spark-Signature": "0"}
        )
        reads = {path: client.get(path, headers=admin()) for path in admin_get_paths(app)}
    assert len(shown.secrets) == 16
    assert len(set(shown.secrets)) == len(shown.secrets)
    assert f"{T}/spark" in reads
    assert f"{T}/roster/connectors" in reads
    assert "/api/v1/admin/tenants" in reads
    assert sum(r.status_code == 200 for r in reads.values()) >= 8
    assert [(p, r.status_code) for p, r in reads.items() if r.status_code >= 500] == []

    log_lines = [json.dumps(line, default=str) for line in logs] + [caplog.text]
    assert len(logs) > 10, "the run logged its requests"
    events = stored_events(runtime)
    assert len(events) >= 14, "the admin actions are in the log"
    audited = audit_records(runtime)
    assert audited, "the refused signal was audited"
    places = {
        **{f"GET {path}": response.text for path, response in reads.items()},
        **{f"log {i}": line for i, line in enumerate(log_lines)},
        **{f"event {i}": event for i, event in enumerate(events)},
        **{f"audit {i}": record for i, record in enumerate(audited)},
    }
    leaks = [
        (where, secret[:8])
        for secret in shown.secrets
        for where, text in places.items()
        if secret in text
    ]
    assert leaks == []
