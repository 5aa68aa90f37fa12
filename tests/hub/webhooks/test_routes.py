"""The webhooks API over HTTP: secrets shown once, precise problems, delivery log and redrive."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.bootstrap import Runtime
from hub.domain.webhooks import webhook_registry_id
from infra.secrets import SecretBox
from tests.connectors.subscriber import FAIL, OK, Subscriber, serve
from tests.connectors.webhook_world import delivering, quest, settled
from tests.connectors.world import wait_for
from tests.hub.http.conftest import admin

BOX = SecretBox.from_text("the webhook API tests' key")
HOOKS = "/api/v1/tenants/acme/webhooks"


@pytest.fixture
def acme(runtime: Runtime) -> str:
    runtime.hub.register_tenant("acme", "Acme", BOX)
    return "acme"


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber()


@pytest.fixture
def url(subscriber: Subscriber) -> Iterator[str]:
    with serve(subscriber) as address:
        yield address


def create(client: httpx.Client, **body: Any) -> httpx.Response:
    fields = {"url": "https://hooks.example.org/in", "event_types": ["Quest.Synced"], **body}
    return client.post(HOOKS, headers=admin(), json=fields)


def allow_loopback(client: httpx.Client) -> None:
    answer = client.put(
        f"{HOOKS}/allowed-hosts", headers=admin(), json={"allowed_hosts": ["127.0.0.1"]}
    )
    assert answer.status_code == 200, answer.text


def test_the_secret_is_shown_once_stored_sealed_and_never_read_back(
    client: httpx.Client, runtime: Runtime, acme: str
) -> None:
    made = create(client, description="grades to our LMS")
    assert made.status_code == 201, made.text
    body = made.json()
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert body["event_types"] == ["Quest.Synced"]
    assert body["paused"] is False
    one = client.get(f"{HOOKS}/{body['id']}", headers=admin())
    listed = client.get(HOOKS, headers=admin())
    assert one.status_code == listed.status_code == 200
    assert [w["id"] for w in listed.json()] == [body["id"]]
    assert one.json()["description"] == "grades to our LMS"
    for read in (one, listed):
        assert secret not in read.text
        assert "secret" not in str(read.json()).replace("previous_secret_valid_until", "")
    stored = list(runtime.hub.repository.event_store.get(webhook_registry_id(acme)))
    assert stored
    assert secret not in repr([vars(e) for e in stored])


def test_unknown_event_types_are_a_422_naming_them(client: httpx.Client, acme: str) -> None:
    answer = create(client, event_types=["Quest.Synced", "Quest.Exploded", "Nope"])
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["type"].endswith("/validation-failed")
    assert [e["message"] for e in problem["errors"]] == ["unknown: Nope", "unknown: Quest.Exploded"]
    assert client.get(HOOKS, headers=admin()).json() == []  # nothing was written


def test_event_types_catalogue_lists_what_can_be_subscribed(
    client: httpx.Client, acme: str
) -> None:
    catalogue = client.get(f"{HOOKS}/event-types", headers=admin()).json()["event_types"]
    assert "*" in catalogue
    assert {"Quest.Synced", "Submission.Received", "Tenant.Registered"} <= set(catalogue)
    assert not [name for name in catalogue if name.endswith((".Event", "Delivery.Attempted"))]
    assert create(client, event_types=["*"]).status_code == 201


@pytest.mark.parametrize(
    "target", ["http://hooks.example.org/in", "https://127.0.0.1/in", "https://10.1.2.3/in"]
)
def test_a_url_is_https_to_a_public_host_unless_the_host_is_allow_listed(
    client: httpx.Client, acme: str, target: str
) -> None:
    refused = create(client, url=target)
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/validation-failed")
    host = httpx.URL(target).host
    allowed = client.put(
        f"{HOOKS}/allowed-hosts", headers=admin(), json={"allowed_hosts": [host.upper()]}
    )
    assert allowed.json() == {"allowed_hosts": [host]}
    assert create(client, url=target).status_code == 201


def test_bad_input_unknown_things_and_no_token_are_precise_problems(
    client: httpx.Client, acme: str
) -> None:
    assert create(client, url="not a url").status_code == 422
    assert create(client, event_types=[]).status_code == 422
    assert client.post(HOOKS, headers=admin(), content=b"{").status_code == 422
    unknown_tenant = client.post(
        "/api/v1/tenants/nobody/webhooks",
        headers=admin(),
        json={"url": "https://hooks.example.org/in", "event_types": ["*"]},
    )
    assert unknown_tenant.status_code == 404
    assert client.get("/api/v1/tenants/nobody/webhooks", headers=admin()).status_code == 404
    missing = client.get(f"{HOOKS}/whk_{'0' * 24}", headers=admin())
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/not-found")
    assert client.get(f"{HOOKS}/not-an-id", headers=admin()).status_code == 422
    assert client.get(HOOKS).status_code == 401
    assert create(client, event_types=["*"]).status_code == 201
    assert client.get(HOOKS, headers=admin("wrong-token")).status_code == 401


def test_a_subscription_is_changed_paused_and_deleted(client: httpx.Client, acme: str) -> None:
    webhook = create(client).json()["id"]
    changed = client.patch(
        f"{HOOKS}/{webhook}",
        headers=admin(),
        json={"paused": True, "event_types": ["Task.Synced", "Quest.Synced"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["paused"] is True
    assert changed.json()["event_types"] == ["Quest.Synced", "Task.Synced"]
    assert changed.json()["url"] == "https://hooks.example.org/in"
    refused = client.patch(f"{HOOKS}/{webhook}", headers=admin(), json={"url": "http://x.org/"})
    assert refused.status_code == 422
    assert client.delete(f"{HOOKS}/{webhook}", headers=admin()).status_code == 204
    assert client.get(f"{HOOKS}/{webhook}", headers=admin()).status_code == 404
    assert client.delete(f"{HOOKS}/{webhook}", headers=admin()).status_code == 404


def test_a_rotation_shows_the_new_secret_once_with_the_overlap(
    client: httpx.Client, acme: str
) -> None:
    made = create(client).json()
    before = datetime.now(UTC)
    rotated = client.post(
        f"{HOOKS}/{made['id']}/rotate-secret", headers=admin(), json={"overlap_seconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != made["secret"]
    until = datetime.fromisoformat(rotated.json()["previous_secret_valid_until"])
    assert before + timedelta(seconds=3600) <= until <= datetime.now(UTC) + timedelta(hours=1)
    read = client.get(f"{HOOKS}/{made['id']}", headers=admin())
    assert secret not in read.text
    assert (
        read.json()["previous_secret_valid_until"] == rotated.json()["previous_secret_valid_until"]
    )
    too_long = client.post(
        f"{HOOKS}/{made['id']}/rotate-secret", headers=admin(), json={"overlap_seconds": 10**9}
    )
    assert too_long.status_code == 422


def test_the_delivery_log_shows_attempts_and_dead_letters_are_redriven(
    client: httpx.Client,
    runtime: Runtime,
    env: dict[str, str],
    acme: str,
    subscriber: Subscriber,
    url: str,
) -> None:
    allow_loopback(client)
    webhook = create(client, url=url).json()["id"]
    subscriber.set(FAIL, status=410)
    with delivering(env):
        first = quest(runtime.hub, acme, "bio")
        quest(runtime.hub, acme, "chem")
        settled(env, 2, "dead-lettered")
        log = client.get(f"{HOOKS}/{webhook}/deliveries", headers=admin())
        assert log.status_code == 200, log.text
        deliveries = log.json()["deliveries"]
        assert len(deliveries) == 2
        oldest = deliveries[-1]
        assert oldest["event_id"] == f"{first}@1"
        assert oldest["event_type"] == "Quest.Synced"
        assert oldest["status"] == "dead-lettered"
        (attempt,) = oldest["attempts"]
        assert attempt["status_code"] == 410
        assert attempt["outcome"] == "dead-lettered"
        assert attempt["duration_ms"] > 0
        assert attempt["error"] == "the subscriber answered 410"

        subscriber.set(OK)
        path = f"{HOOKS}/{webhook}/deliveries/{oldest['delivery_id']}/redrive"
        one = client.post(path, headers=admin())
        assert one.json() == {"redriven": [oldest["delivery_id"]]}
        wait_for(lambda: len(subscriber.accepted()) == 1, "the redriven delivery")
        rest = client.post(f"{HOOKS}/{webhook}/redrive", headers=admin())
        assert rest.json() == {"redriven": [deliveries[0]["delivery_id"]]}
        settled(env, 2, "delivered")
        again = client.post(path, headers=admin())
        assert again.status_code == 409
    accepted = [r.headers["webhook-id"] for r in subscriber.accepted()]
    assert sorted(accepted) == sorted(d["delivery_id"] for d in deliveries)
    delivered = client.get(
        f"{HOOKS}/{webhook}/deliveries", headers=admin(), params={"status": "delivered"}
    ).json()["deliveries"]
    assert [len(d["attempts"]) for d in delivered] == [2, 2]
    assert all(d["redriven_at"] for d in delivered)
    other = create(client, url=url).json()["id"]
    foreign = client.post(
        f"{HOOKS}/{other}/deliveries/{oldest['delivery_id']}/redrive", headers=admin()
    )
    assert foreign.status_code == 404
