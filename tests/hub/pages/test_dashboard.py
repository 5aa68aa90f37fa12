"""The dashboard: the session's learner with quests, XP per pillar and tasks, escaped, no script."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI

from hub.bootstrap import Runtime
from hub.domain.learners import Identity, identity_id
from hub.domain.quests import Quest, Task, quest_id, task_id
from hub.spark.sessions import SessionSigner, session_key
from projections.portfolio import CompletedTask, Portfolio, QuestProgress
from tests.hub.spark.signals import Partner, session_cookie, sso_token


def sign_in(client: httpx.Client, partner: Partner, **claims: object) -> str:
    token = sso_token(partner.sso_secret, **claims)
    response = client.get(f"/t/{partner.tenant}/spark/sso", params={"token": token})
    assert response.status_code == 303
    return session_cookie(response)


def test_it_shows_synced_quests_xp_per_pillar_and_completed_tasks(
    client: httpx.Client, app: FastAPI, runtime: Runtime, acme: Partner
) -> None:
    quest = Quest(
        tenant="acme",
        source="spark",
        external_id="course_101",
        details={"title": "Minecraft Biology"},
    )
    task = Task(
        tenant="acme",
        source="spark",
        external_id="a1",
        quest_id=quest.id,
        details={"title": "Map a biome", "pillar": "stem", "xp": 150},
    )
    runtime.hub.save(quest, task)
    cookie = sign_in(client, acme, spark_course_ids=["course_101"])
    identity: Identity = runtime.hub.repository.get(identity_id("acme", "spark", "spark_user_123"))
    asked: list[tuple[str, str]] = []

    def learning_progress(tenant: str, learner_id: str) -> Portfolio:
        # The portfolio read model's answer (the e2e test runs the real projection).
        asked.append((tenant, learner_id))
        done = CompletedTask(
            task.id, "Map a biome", "stem", 150, "2025-01-15T14:30:00Z", "spark", (), "", "s1", 0
        )
        return Portfolio(
            tenant,
            learner_id,
            None,
            (QuestProgress(quest.id, "Minecraft Biology", True, (done,)),),
            {"stem": 150},
        )

    app.state.learning_progress = learning_progress
    page = client.get("/dashboard", headers={"Cookie": f"hub_session={cookie}"})
    assert page.status_code == 200
    assert asked == [("acme", identity.learner_id)]
    assert "Minecraft Biology" in page.text
    assert "Map a biome" in page.text
    assert "Total: 150 XP" in page.text
    assert '<th scope="row">stem</th><td class="number">150</td>' in page.text
    assert "<script" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert quest_id("acme", "spark", "course_101") == quest.id
    assert task_id("acme", "spark", "a1") == task.id


def test_names_are_escaped(client: httpx.Client, acme: Partner) -> None:
    cookie = sign_in(client, acme, given_name="<script>alert(1)</script>", family_name="&")
    page = client.get("/dashboard", headers={"Cookie": f"hub_session={cookie}"})
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in page.text


def test_a_session_of_one_tenant_cannot_name_another_tenant_s_learner(
    client: httpx.Client, runtime: Runtime, acme: Partner
) -> None:
    sign_in(client, acme)
    identity: Identity = runtime.hub.repository.get(identity_id("acme", "spark", "spark_user_123"))
    signer = SessionSigner(session_key(runtime.settings))  # the hub's own key: a valid cookie
    cookie, _ = signer.issue(
        tenant="beta",
        learner_id=identity.learner_id,
        role="student",
        position=1,
        now=int(time.time()),
    )
    page = client.get("/dashboard", headers={"Cookie": f"hub_session={cookie}"})
    assert page.status_code == 401
