"""Rate limits on every public endpoint: the headers, 429 problems, the tenant's own limits."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import Engine

from hub.bootstrap import Runtime, build_runtime
from hub.http import create_app, runtime_readiness
from infra.settings import Settings
from tests.hub.api.conftest import admin, bearer, make_client
from tests.hub.http.conftest import ADMIN_TOKEN
from tests.hub.http.live_server import live_server

HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy")


def set_limits(http: httpx.Client, tenant: str, per_tenant: int, per_client: int) -> None:
    answer = http.put(
        f"/api/v1/admin/tenants/{tenant}/rate-limits",
        headers=admin(),
        json={"tenant_per_minute": per_tenant, "client_per_minute": per_client},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["configured"] is True


def test_every_answer_carries_the_headers_and_the_probes_are_exempt(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    token = bearer(make_client(client, "alpha", "events:read").token(client))
    answers = [
        client.get("/api/v1/tenants/alpha/events", headers=token),  # 200
        client.get("/api/v1/tenants/beta/events", headers=token),  # 403
        client.get("/api/v1/tenants/alpha/events"),  # 401
        client.get("/nothing/here"),  # 404
        client.get("/t/alpha/api/lti/platform/token"),  # 405
    ]
    assert [a.status_code for a in answers] == [200, 403, 401, 404, 405]
    for answer in answers:
        assert all(name in answer.headers for name in HEADERS), answer.headers
    assert answers[0].headers["ratelimit-policy"] == "12000;w=60"  # the client's default
    assert answers[2].headers["ratelimit-policy"] == "60000;w=60"  # the tenant's default
    assert "ratelimit-limit" not in client.get("/healthz").headers


def test_a_tenant_s_configured_limit_is_honoured_with_a_429_problem(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    set_limits(client, "alpha", per_tenant=3, per_client=3)  # this request names alpha: 1
    seen = [client.get("/api/v1/tenants/alpha/events") for _ in range(2)]
    assert [int(a.headers["ratelimit-remaining"]) for a in seen] == [1, 0]
    assert {a.headers["ratelimit-limit"] for a in seen} == {"3"}
    refused = client.get("/api/v1/tenants/alpha/events")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://hub.example/problems/rate-limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-policy"] == "3;w=60"
    # quotable like any other answer: its request id in the header and in the problem
    assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert refused.headers["x-request-id"] not in {a.headers["x-request-id"] for a in seen}
    quoted = client.get("/api/v1/tenants/alpha/events", headers={"X-Request-ID": "support-42"})
    assert quoted.status_code == 429
    assert (quoted.headers["x-request-id"], quoted.json()["request_id"]) == ("support-42",) * 2
    # another tenant's window is its own
    assert client.get("/api/v1/tenants/beta/events").status_code == 401


def test_each_client_has_its_own_window_within_its_tenant_s(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    set_limits(client, "alpha", per_tenant=100, per_client=2)
    first = bearer(make_client(client, "alpha", "events:read").token(client))
    second = bearer(make_client(client, "alpha", "events:read").token(client))
    assert [
        client.get("/api/v1/tenants/alpha/events", headers=first).status_code for _ in range(3)
    ] == [200, 200, 429]
    assert client.get("/api/v1/tenants/alpha/events", headers=second).status_code == 200


def test_requests_naming_no_known_tenant_count_by_address(
    nats_url: str, stream_prefix: str, tmp_path: Path, engine: Engine
) -> None:
    settings = Settings(
        data_dir=tmp_path, stream_prefix=stream_prefix, api_rate_limit_address_per_minute=2
    )
    runtime: Runtime = build_runtime(settings, nats_url)
    app = create_app(runtime, readiness=runtime_readiness(runtime, engine), admin_token=ADMIN_TOKEN)
    try:
        with live_server(app) as url, httpx.Client(base_url=url) as http:
            answers = [http.get(path) for path in ("/docs", "/t/made-up/x", "/openapi.json")]
            assert [a.status_code for a in answers] == [200, 404, 429]
            assert answers[0].headers["ratelimit-policy"] == "2;w=60"
            assert http.get("/healthz").status_code == 200  # exempt
    finally:
        runtime.hub.close()


def test_the_tenant_is_found_in_the_query_and_the_header_too(
    client: httpx.Client, tenants: tuple[str, str]
) -> None:
    set_limits(client, "beta", per_tenant=50, per_client=5)
    by_query = client.get("/api/lti/jwks.json", params={"tenant": "beta"})
    by_header = client.get("/nothing", headers={"X-Hub-Tenant": "beta"})
    by_admin_path = client.get("/api/v1/admin/tenants/beta", headers=admin())
    for answer in (by_query, by_header, by_admin_path):
        assert answer.headers["ratelimit-policy"] == "50;w=60", answer.url
    remaining = [int(a.headers["ratelimit-remaining"]) for a in (by_query, by_header)]
    assert remaining == [48, 47]  # one window: the PUT, then these
