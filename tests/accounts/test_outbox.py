"""The email outbox: queued messages delivered to the embedded folder (listed for the admin)
or to an SMTP server, retried, dead-lettered and redriven through the deliveries machinery."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from connectors import outbox
from connectors.deliveries import RetrySchedule, redrive
from connectors.runner import Backoff, UpstreamLog
from hub.domain.deliveries import DEAD, DELIVERED, delivery_id
from hub.domain.outbox import outbox_message_id
from infra.mail import Mail, Mailer, MailError, SmtpMailer
from tests.accounts.conftest import World
from tests.accounts.smtp_server import smtp_server
from tests.connectors.world import RunnerThread, wait_for

QUICK = RetrySchedule(base_s=0.01, cap_s=0.05, max_attempts=3)


class Switch:
    """A mailer that fails (retryably) until told to pass messages on to `inner`."""

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self.failing = True
        self.attempts = 0

    def send(self, mail: Mail) -> None:
        self.attempts += 1
        if self.failing:
            raise MailError("the server is down", retryable=True)
        self.inner.send(mail)


@contextmanager
def delivering(world: World, mailer: Mailer | None = None) -> Iterator[None]:
    """The outbox process and its delivery loop, running."""
    stop = threading.Event()
    loop = threading.Thread(
        target=outbox.run_deliveries,
        args=(world.env, stop),
        kwargs={
            "mailer": mailer,
            "retry": QUICK,
            "lease_ttl": 1.5,
            "backoff": Backoff(0.01, 0.1),
            "idle_s": 0.05,
        },
        daemon=True,
    )
    process = RunnerThread(outbox.SPEC, world.env)
    loop.start()
    try:
        yield
    finally:
        stop.set()
        loop.join(timeout=30)
        process.stop()


@pytest.fixture(scope="module")
def deliveries(world: World) -> Iterator[UpstreamLog]:
    log = UpstreamLog(outbox.NAME, world.env)
    yield log
    log.close()


def ask_link(world: World, tenant: str, email: str) -> str:
    answer = world.http.post(
        "/api/v1/accounts/sign-in-links", json={"tenant": tenant, "email": email}
    )
    assert answer.status_code == 202
    [message] = [
        n.originator_id
        for n in world.events()
        if n.topic.endswith("OutboxMessage.Queued") and n.originator_id.startswith(f"{tenant}.")
    ][-1:]
    return message


def status(log: UpstreamLog, tenant: str, message: str) -> Any:
    found = delivery_id(tenant, outbox.CONNECTOR, message)
    return log.repository.get(found).status if found in log.repository else None


def test_the_embedded_outbox_keeps_the_message_for_the_admin_page(
    world: World, deliveries: UpstreamLog
) -> None:
    tenant = world.tenant()
    world.learner(tenant, "sam")
    with delivering(world):
        message = ask_link(world, tenant, "sam@example.org")
        wait_for(lambda: status(deliveries, tenant, message) == DELIVERED, "the delivery")
    listed = world.http.get(
        "/api/v1/admin/outbox", params={"tenant": tenant}, headers=world.admin()
    ).json()
    [mail] = listed["messages"]
    assert (listed["smtp"], mail["to"], mail["kind"]) == (False, "sam@example.org", "sign-in-link")
    assert mail["message_id"] == message
    assert world.token_in_last_mail(tenant) in mail["body"]  # the link a newcomer follows
    other = world.tenant()
    assert (
        world.http.get(
            "/api/v1/admin/outbox", params={"tenant": other}, headers=world.admin()
        ).json()["messages"]
        == []
    )
    assert world.http.get("/api/v1/admin/outbox", params={"tenant": tenant}).status_code == 401


def test_a_failing_server_is_retried_then_dead_lettered_and_a_redrive_sends(
    world: World, deliveries: UpstreamLog
) -> None:
    tenant = world.tenant()
    world.learner(tenant, "sam")
    with smtp_server() as (port, inbox):
        switch = Switch(SmtpMailer("127.0.0.1", port, starttls=False))
        with delivering(world, switch):
            message = ask_link(world, tenant, "sam@example.org")
            wait_for(lambda: status(deliveries, tenant, message) == DEAD, "the dead letter")
            assert switch.attempts == QUICK.max_attempts
            switch.failing = False
            redrive(deliveries, [delivery_id(tenant, outbox.CONNECTOR, message)], by="test")
            wait_for(lambda: status(deliveries, tenant, message) == DELIVERED, "the redrive")
        [(sender, recipients, data)] = inbox.messages
    assert (sender, recipients) == ("hub@localhost", ["sam@example.org"])
    assert "Subject: Your sign-in link" in data
    assert f"Message-ID: <{message}@hub>" in data


def test_smtp_answers_decide_retry_or_not() -> None:
    with smtp_server() as (port, inbox):
        inbox.refuse = {"later@example.org": 421, "gone@example.org": 550}
        mailer = SmtpMailer("127.0.0.1", port, starttls=False)
        mail = Mail("m1", "acme", "notification", "hub@localhost", "", "Hi", "Hello", "now")
        with pytest.raises(MailError) as gone:
            mailer.send(Mail(**{**mail.__dict__, "to": "gone@example.org"}))
        assert gone.value.retryable is False
        with pytest.raises(MailError) as later:
            mailer.send(Mail(**{**mail.__dict__, "to": "later@example.org"}))
        assert later.value.retryable is True
        mailer.send(Mail(**{**mail.__dict__, "to": "ok@example.org"}))
        assert [m[1] for m in inbox.messages] == [["ok@example.org"]]


def test_message_ids_are_deterministic() -> None:
    assert outbox_message_id("acme", "sign-in-link", "x") == outbox_message_id(
        "acme", "sign-in-link", "x"
    )


def test_an_observer_invitation_is_emailed_with_its_one_time_link(world: World) -> None:
    tenant = world.tenant()
    sam = world.learner(tenant, "sam")
    sent = world.http.post(
        "/api/v1/me/observers/invitations",
        json={"email": "Gran@example.org", "name": "Gran", "relationship": "grandparent"},
        headers=world.cookie(sam, "student"),
    )
    assert sent.status_code == 201, sent.text
    [mail] = world.mails(tenant)
    assert (mail["kind"], mail["to"]) == ("invitation", "gran@example.org")
    assert f"/observer/accept/{sent.json()['code']}" in mail["body"]
    assert "Sam Example invites you" in mail["body"]
    code = mail["body"].split("/observer/accept/", 1)[1].split()[0]
    accepted = world.http.post("/api/v1/observers/invitations/accept", json={"code": code})
    assert accepted.status_code == 200, accepted.text
