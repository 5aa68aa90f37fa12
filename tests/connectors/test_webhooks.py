"""Webhook deliveries on real parts: NATS, the connectors, a subscriber on loopback.

Signatures are checked with the `standardwebhooks` package (an independent implementation
of the scheme), never with the hub's own signing code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from connectors.deliveries import redrive
from connectors.runner import UpstreamLog
from connectors.webhooks import NAME, SPEC, WebhookDeliverySettings
from hub.application import Hub
from hub.domain.deliveries import DEAD, DELIVERED
from hub.webhooks.subscriptions import NewSubscription, Registries
from tests.connectors.spark_fake import hub_cli
from tests.connectors.subscriber import FAIL, HANG, OK, Subscriber, serve
from tests.connectors.webhook_world import BOX, KEY, delivering, entries, quest, settled
from tests.connectors.world import add_learner, running, wait_for


@pytest.fixture
def registries(env: dict[str, str], hub: Hub, tmp_path: Path) -> Registries:
    """The commands, with the hub's key where the sender finds it (the data folder)."""
    (tmp_path / "secret.key").write_text(KEY)
    return Registries(hub, BOX)


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber()


@pytest.fixture
def url(subscriber: Subscriber) -> Iterator[str]:
    with serve(subscriber) as address:
        yield address


def tenant(registries: Registries, slug: str = "acme") -> str:
    """A registered tenant whose webhooks may go to loopback."""
    registries.hub.register_tenant(slug, slug.title(), BOX)
    registries.allow_hosts(slug, ["127.0.0.1"])
    return slug


def subscribe(registries: Registries, slug: str, url: str, *event_types: str) -> NewSubscription:
    return registries.subscribe(
        slug, url=url, event_types=list(event_types), description="", now=datetime.now(UTC)
    )


def accepted_quests(subscriber: Subscriber, count: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        found = [r for r in subscriber.accepted() if r.event["type"] == "Quest.Synced"]
        return [r.event for r in found] if len(found) >= count else None

    return wait_for(check, f"{count} Quest.Synced delivered")


def test_deliveries_are_signed_per_standard_webhooks_and_only_of_subscribed_types(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    made = subscribe(registries, slug, url, "Quest.Synced")
    with delivering(env):
        learner = add_learner(hub, "u1", tenant=slug)  # Learner.Registered: not subscribed
        first = quest(hub, slug, "bio")
        second = quest(hub, slug, "chem")
        accepted_quests(subscriber, 2)
        done = settled(env, 2, DELIVERED)
    received = subscriber.received()
    assert len(received) == 2  # nothing of the learner's
    verifier = Webhook(made.secret)
    for request in received:
        assert verifier.verify(request.body, request.headers) == request.event
    bodies = [r.event for r in received]
    assert [b["data"]["aggregate_id"] for b in bodies] == [first, second]
    body = bodies[0]
    assert body["type"] == "Quest.Synced"
    assert body["data"]["tenant"] == slug
    assert body["data"]["event_id"] == f"{first}@1"
    assert body["data"]["version"] == 1
    assert body["data"]["position"] > 0
    assert body["data"]["payload"]["details"] == {"title": "bio"}
    assert learner not in str(bodies)
    assert sorted(r.headers["webhook-id"] for r in received) == sorted(e.id for e in done)


def test_a_subscriber_that_never_answers_is_dead_lettered_then_redriven_delivers_once(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    made = subscribe(registries, slug, url, "Quest.Synced")
    subscriber.set(HANG)
    with delivering(env):
        quest(hub, slug, "bio")
        (dead,) = settled(env, 1, DEAD)
        assert dead.attempts == 3  # the first, then the schedule's two retries
        assert "timed out" in dead.last_error
        assert dead.last_status_code is None
        assert subscriber.accepted() == []
        subscriber.set(OK)
        with closing(UpstreamLog(NAME, env)) as app:
            assert redrive(app, [dead.id], by="test") == [dead.id]
        accepted = wait_for(subscriber.accepted, "the redriven delivery")
        settled(env, 1, DELIVERED)
    assert len(accepted) == 1
    assert accepted[0].headers["webhook-id"] == dead.id  # the same id on every attempt
    Webhook(made.secret).verify(accepted[0].body, accepted[0].headers)


def test_a_subscriber_that_hangs_does_not_hold_back_the_others(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    quick = Subscriber()
    with serve(quick) as quick_url:
        subscribe(registries, slug, url, "Quest.Synced")
        subscribe(registries, slug, quick_url, "Quest.Synced")
        subscriber.set(HANG)
        # A timeout far longer than the test may wait: delivered one after the other, the
        # quick subscriber would wait for the hanging one's whole timeout, three times.
        slow = WebhookDeliverySettings(retry_schedule_s="1", timeout_s=120, idle_s=0.02)
        with delivering(env, slow):
            for key in ("bio", "chem", "phys"):
                quest(hub, slug, key)
            accepted_quests(quick, 3)
            assert subscriber.hangs() == 1  # one attempt in flight in the hanging lane
            subscriber.set(OK)  # lets the hanging request go, so the loop can stop


@pytest.mark.parametrize(("status", "attempts"), [(400, 1), (410, 1), (429, 3), (503, 3)])
def test_4xx_is_dead_lettered_at_once_and_429_or_5xx_after_the_retries(
    env: dict[str, str],
    hub: Hub,
    registries: Registries,
    subscriber: Subscriber,
    url: str,
    status: int,
    attempts: int,
) -> None:
    slug = tenant(registries)
    subscribe(registries, slug, url, "Quest.Synced")
    subscriber.set(FAIL, status=status)
    with delivering(env):
        quest(hub, slug, "bio")
        (dead,) = settled(env, 1, DEAD)
    assert dead.attempts == attempts
    assert dead.last_status_code == status
    assert len(subscriber.received()) == attempts


def test_a_paused_subscription_gets_nothing_until_resumed(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    made = subscribe(registries, slug, url, "Quest.Synced")
    registries.change(slug, made.subscription.id, paused=True)
    with delivering(env):
        while_paused = quest(hub, slug, "bio")
        registries.change(slug, made.subscription.id, paused=False)
        after = quest(hub, slug, "chem")
        (body,) = accepted_quests(subscriber, 1)
        settled(env, 1, DELIVERED)
    assert body["data"]["aggregate_id"] == after
    assert while_paused not in str([r.body for r in subscriber.received()])
    assert len(entries(env)) == 1


def test_a_tenant_never_receives_another_tenants_events(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    acme = tenant(registries, "acme")
    beta = tenant(registries, "beta")
    subscribe(registries, acme, url, "*")
    with delivering(env):
        theirs = quest(hub, beta, "bio")  # recorded first: processed before acme's
        ours = quest(hub, acme, "bio")
        (body,) = accepted_quests(subscriber, 1)
    assert body["data"]["aggregate_id"] == ours
    assert {r.event["data"]["tenant"] for r in subscriber.received()} == {acme}
    assert theirs not in str([r.body for r in subscriber.received()])


def test_after_a_rotation_both_secrets_verify_during_the_overlap_then_only_the_new(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    made = subscribe(registries, slug, url, "Quest.Synced")
    webhook = made.subscription.id
    _, overlapping = registries.rotate_secret(
        slug, webhook, overlap=timedelta(hours=1), now=datetime.now(UTC)
    )
    with delivering(env):
        quest(hub, slug, "bio")
        (during,) = wait_for(subscriber.accepted, "a delivery during the overlap")
        _, latest = registries.rotate_secret(
            slug, webhook, overlap=timedelta(0), now=datetime.now(UTC)
        )
        quest(hub, slug, "chem")
        after = wait_for(lambda: subscriber.accepted()[1:], "a delivery after the overlap")[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(made.secret).verify(during.body, during.headers)
    Webhook(overlapping).verify(during.body, during.headers)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    Webhook(latest).verify(after.body, after.headers)
    for retired in (made.secret, overlapping):
        with pytest.raises(WebhookVerificationError):
            Webhook(retired).verify(after.body, after.headers)


def test_hub_deliveries_lists_and_redrives_webhook_dead_letters(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    subscribe(registries, slug, url, "Quest.Synced")
    subscriber.set(FAIL, status=400)
    with delivering(env):
        quest(hub, slug, "bio")
        (dead,) = settled(env, 1, DEAD)
        listing = ("deliveries", "list", "--connector", "webhooks", "--status", DEAD)
        listed = hub_cli(*listing, env=env, secret_key="-")
        assert listed.returncode == 0, listed.stderr
        (row,) = [line for line in listed.stdout.splitlines() if line.startswith("acme.Delivery")]
        assert row.split()[:4] == [dead.id, DEAD, "1", "400"]
        subscriber.set(OK)
        redriven = hub_cli(
            "deliveries", "redrive", "--connector", "webhooks", env=env, secret_key="-"
        )
        assert redriven.returncode == 0, redriven.stderr
        assert f"redriven  {dead.id}" in redriven.stdout
        settled(env, 1, DELIVERED)
    assert [r.headers["webhook-id"] for r in subscriber.accepted()] == [dead.id]


def test_a_restart_of_the_connector_repeats_no_delivery_and_loses_none(
    env: dict[str, str], hub: Hub, registries: Registries, subscriber: Subscriber, url: str
) -> None:
    slug = tenant(registries)
    subscribe(registries, slug, url, "Quest.Synced")
    with running(SPEC, env=env):
        first = quest(hub, slug, "bio")
        wait_for(lambda: len(entries(env)) == 1, "the first delivery scheduled")
        add_learner(hub, "u1", tenant=slug)  # schedules nothing: its position is not recorded
    with delivering(env):
        second = quest(hub, slug, "chem")
        accepted_quests(subscriber, 2)
        settled(env, 2, DELIVERED)
    assert len(entries(env)) == 2
    delivered = [r.event["data"]["aggregate_id"] for r in subscriber.received()]
    assert sorted(delivered) == sorted([first, second])
