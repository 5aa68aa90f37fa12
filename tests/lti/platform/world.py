"""The world the platform tests launch into: a Spark quest with enrolled people, a tool
built with pylti1p3 registered for it, a graded link, and the browser's hops."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from hub.bootstrap import Runtime
from hub.domain.learners import Learner
from hub.domain.quests import Quest, Task
from hub.spark.sessions import COOKIE_NAME, SessionSigner, session_key
from tests.hub.http.conftest import admin
from tests.lti.platform.pylti_tool import LAUNCH_URL, LOGIN_URL, PyltiTool, new_key, public_jwk

ASSIGNMENT = "assign-7"
PEOPLE = (
    ("s1", "Ada", "Lovelace", "student"),
    ("s2", "Alan", "Turing", "student"),
    ("s3", "Grace", "Hopper", "student"),
    ("t1", "Tim", "Teacher", "teacher"),
)


@dataclass
class World:
    tenant: str
    client: httpx.Client
    runtime: Runtime
    quest_id: str
    context_id: str
    people: dict[str, str]  # external id -> learner id
    tool: PyltiTool
    client_id: str
    link_id: str
    last_position: int = 0
    signer: SessionSigner = field(init=False)

    def __post_init__(self) -> None:
        self.signer = SessionSigner(session_key(self.runtime.settings))

    def cookie(self, person: str, role: str = "student", tenant: str | None = None) -> str:
        value, _ = self.signer.issue(
            tenant=tenant or self.tenant,
            learner_id=self.people[person],
            role=role,
            position=0,
            now=int(time.time()),
        )
        return f"{COOKIE_NAME}={value}"

    def start(self, path: str, person: str, role: str = "student") -> dict[str, str]:
        """The hub's redirect to the tool's login initiation, as its query parameters."""
        response = self.client.get(path, headers={"Cookie": self.cookie(person, role)})
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(LOGIN_URL + "?")
        return dict(parse_qsl(urlsplit(location).query))

    def authorize(self, url: str, person: str, role: str = "student") -> httpx.Response:
        return self.client.get(url, headers={"Cookie": self.cookie(person, role)})

    def launch(self, person: str = "s1", role: str = "student", link_id: str | None = None) -> Any:
        """Every hop of a resource link launch; returns pylti1p3's validated launch."""
        login = self.start(f"/t/{self.tenant}/lti/launch/{link_id or self.link_id}", person, role)
        response = self.authorize(self.tool.login(login), person, role)
        assert response.status_code == 200, response.text
        return self.tool.launch(form_fields(response.text))


def form_fields(page: str) -> dict[str, str]:
    """The hidden fields of the hub's auto-submitting form (id_token, state)."""
    assert f'action="{LAUNCH_URL}"' in page
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))


def seed_world(
    client: httpx.Client, runtime: Runtime, tenant: str, *, course: str = "course-1"
) -> World:
    """A Spark quest with three students and a teacher, a pylti1p3 tool, a graded link."""
    hub = runtime.hub
    quest = Quest(tenant, "spark", course, {"title": "Algebra I"})
    task = Task(tenant, "spark", ASSIGNMENT, quest.id, {"title": "Homework 7", "max_points": 20})
    people = {}
    aggregates: list[Any] = [quest, task]
    for external, given, family, role in PEOPLE:
        person = Learner(
            tenant, "spark", external, f"{external}@school.example", given, family, role
        )
        person.enrol(quest.id, "spark")
        people[external] = person.id
        aggregates.append(person)
    hub.save(*aggregates)
    context_id = quest.id.rsplit(".", 1)[1]
    key = new_key()
    registered = register_tool(client, tenant, public_jwk=public_jwk(key))
    client_id = registered["client_id"]
    link = client.post(
        f"/api/v1/admin/tenants/{tenant}/lti/links",
        headers=admin(),
        json={
            "client_id": client_id,
            "deployment_id": "dep-1",
            "context_id": context_id,
            "title": "Homework 7 quiz",
            "custom": {"quiz": "7"},
            "line_item": {"label": "Homework 7", "scoreMaximum": 20, "resourceId": ASSIGNMENT},
        },
    )
    assert link.status_code == 201, link.text
    return World(
        tenant=tenant,
        client=client,
        runtime=runtime,
        quest_id=quest.id,
        context_id=context_id,
        people=people,
        tool=PyltiTool(registered["platform"], client_id, ["dep-1"], key),
        client_id=client_id,
        link_id=link.json()["link_id"],
        last_position=link.json()["position"],
    )


def tool_settings(**changes: Any) -> dict[str, Any]:
    """The registration of the tests' tool, with `changes` (a key source at least)."""
    return {
        "name": "Quiz tool",
        "login_url": LOGIN_URL,
        "launch_url": LAUNCH_URL,
        "redirect_uris": [LAUNCH_URL],
        "deployment_ids": ["dep-1"],
        "share_email": True,
        **changes,
    }


def register_tool(client: httpx.Client, tenant: str, **keys: Any) -> dict[str, Any]:
    registered = client.post(
        f"/api/v1/admin/tenants/{tenant}/lti/tools",
        headers=admin(),
        json=tool_settings(**keys),
    )
    assert registered.status_code == 201, registered.text
    body: dict[str, Any] = registered.json()
    return body
