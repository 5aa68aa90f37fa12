"""Every admin action is an event that says who did it: source `http:admin`, verified by token."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.api.scopes import HUB_ADMIN, Caller
from hub.bootstrap import Runtime
from hub.http.admin_context import admin_context
from tests.hub.http.conftest import admin
from tests.hub.http.test_badges_admin import SCHOLAR
from tests.lti.platform.world import tool_settings

T = "/api/v1/admin/tenants/acme"
TOOL = tool_settings(client_id="quiz-1", jwks_url="https://quiz.example/jwks")
PLATFORM = {
    "name": "Canvas",
    "issuer": "https://canvas.example",
    "client_id": "10000000000001",
    "deployment_ids": ["1"],
    "auth_login_url": "https://canvas.example/api/lti/authorize_redirect",
    "auth_token_url": "https://canvas.example/login/oauth2/token",
    "jwks_url": "https://canvas.example/api/lti/security/jwks",
}
RULE = {k: v for k, v in SCHOLAR.items() if k != "key"}
QUEST = {"tenant": "acme", "key": "garden", "title": "Garden", "pillar": "stem"}
TASK = {"key": "plant", "title": "Plant", "pillar": "stem", "xp": 50}

# (method, path, body): every admin action that changes something, in an order that works.
ACTIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/admin/tenants", {"slug": "acme", "name": "Acme"}),
    ("PATCH", T, {"name": "Acme Academy"}),
    ("POST", f"{T}/secrets/rotate", {"which": "api_key"}),
    ("POST", f"{T}/secrets/rotate", {"which": "webhook"}),
    ("POST", f"{T}/spark", {"api_url": "https://spark.example/api"}),
    ("PATCH", f"{T}/spark", {"webhook_limit_per_minute": 50}),
    ("POST", f"{T}/spark/secrets/rotate", {"which": "sso"}),
    ("POST", f"{T}/lti/tools", TOOL),
    ("PUT", f"{T}/lti/tools/quiz-1", {**TOOL, "name": "Quiz tool 2"}),
    ("POST", f"{T}/lti/keys/rotate", {}),
    ("PUT", f"{T}/lti/rate-limits", {"tenant": {"launch": 500}}),
    ("PUT", "/api/v1/admin/lti/tool/acme/platforms", PLATFORM),
    ("POST", f"{T}/roster/clients", {"name": "district"}),
    (
        "POST",
        f"{T}/roster/connectors",
        {"name": "csv", "kind": "oneroster-csv", "config": {"path": "/tmp/none"}},
    ),
    ("PUT", f"{T}/roster/precedence", {"systems": ["sims", "spark"]}),
    ("PUT", f"{T}/caliper", {"enabled": True}),
    ("POST", f"{T}/badges", SCHOLAR),
    ("PUT", f"{T}/badges/stem-scholar", {**RULE, "min_xp": 2000}),
    ("POST", f"{T}/badges/stem-scholar/retire", {}),
    ("PUT", "/api/v1/admin/family/rhythm", {"tenant": "acme", "days": 3}),
    (
        "POST",
        "/api/v1/admin/accounts",
        {
            "tenant": "acme",
            "email": "p@example.com",
            "name": "Pat",
            "role": "parent",
            "send_sign_in_link": False,
        },
    ),
    ("POST", "/api/v1/admin/quests", QUEST),
]


def events_since(runtime: Runtime, position: int) -> list[Any]:
    recorder, mapper = runtime.hub.recorder, runtime.hub.mapper
    found = recorder.select_notifications(position, 1000, inclusive_of_start=False)
    return [mapper.to_domain_event(n) for n in found]


def head(runtime: Runtime) -> int:
    return runtime.hub.recorder.max_notification_id() or 0


def test_every_admin_action_records_events_with_the_admin_context(
    client: httpx.Client, runtime: Runtime
) -> None:
    walked = []
    for method, path, body in ACTIONS:
        before = head(runtime)
        response = client.request(method, path, headers=admin(), json=body)
        assert response.status_code in {200, 201}, (path, response.text)
        events = events_since(runtime, before)
        assert events, f"{method} {path} recorded nothing"
        contexts = {(e.context["source"], e.context["verified_by"]) for e in events}
        assert contexts == {("http:admin", "admin-token")}, (path, contexts)
        correlations = {e.context["correlation_id"] for e in events}
        assert correlations == {response.headers["x-correlation-id"]}, path
        walked.append(f"{method} {path}")
    quest_id = events_since(runtime, 0)[-1].originator_id
    before = head(runtime)
    task = client.post(f"/api/v1/admin/quests/{quest_id}/tasks", headers=admin(), json=TASK)
    assert task.status_code == 200, task.text
    assert {e.context["source"] for e in events_since(runtime, before)} == {"http:admin"}
    assert len(walked) == len(ACTIONS)


class _State:
    correlation_id = "corr-1"
    request_id = "req-1"


class _Request:
    def __init__(self, caller: Caller | None) -> None:
        self.state = _State()
        if caller is not None:  # as the admin guard and require_scope leave it
            self.state.caller = caller  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        (None, "admin-token"),
        (HUB_ADMIN, "admin-token"),
        (Caller("acme", "acme.c1", frozenset({"admin"}), is_hub_admin=False), "client:acme.c1"),
    ],
)
def test_the_admin_context_says_how_the_actor_was_checked(
    caller: Caller | None, expected: str
) -> None:
    context = admin_context(_Request(caller))  # type: ignore[arg-type]
    assert (context.source, context.verified_by) == ("http:admin", expected)
    assert (context.correlation_id, context.causation_id) == ("corr-1", "req-1")
