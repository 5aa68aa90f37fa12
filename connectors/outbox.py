"""The email outbox: the `outbox` process application and its delivery loop.

`outbox` follows the hub's `OutboxMessage.Queued` (invitations, sign-in links, password
resets) and the `notifications` log's `Inbox.Notified` sent by email, and schedules one
`Delivery` (connector `email`) per message in its own log. The `outbox-deliveries` loop
(`run_deliveries`, its own lease) attempts them on the `RetrySchedule`, through SMTP
when `HUB_SMTP_HOST` is set, else into the embedded mode's outbox folder
(`<data dir>/outbox/<tenant>/`), which `GET /api/v1/admin/outbox` lists.

The body stays sealed in the log (it may hold a one-time token): the sender opens it
with the hub's key just before sending. A message is sent once; a retry after a crash
between the send and its record keeps the same `Message-ID`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from connectors.deliveries import AttemptResult, RetrySchedule
from connectors.delivery_loop import run_delivery_loop
from connectors.domain import caused_by, topic_of
from connectors.evidence import data_dir
from connectors.notifications import NAME as NOTIFICATIONS
from connectors.notifications import Inbox
from connectors.runner import (
    DEFAULT_BACKOFF,
    Backoff,
    ProcessSpec,
    UpstreamLog,
    Upstreams,
    logged,
)
from connectors.spark_api import box_from_env
from hub.domain.base import event_context, tenant_of
from hub.domain.deliveries import Delivery, delivery_id
from hub.domain.notifications import EMAIL
from hub.domain.outbox import NOTIFICATION, OutboxMessage, body_context
from infra.lease import DEFAULT_TTL
from infra.mail import FolderMailbox, Mail, Mailer, MailError, SmtpMailer
from infra.secrets import SecretBox
from infra.settings import Settings

NAME = "outbox"
CONNECTOR = "email"
SCHEDULER = "outbox-deliveries"
QUEUED = topic_of(OutboxMessage, "Queued")
NOTIFIED = get_topic(Inbox.Notified)
log = structlog.get_logger(__name__)


def outbox_folder(env: Mapping[str, str]) -> Path:
    return data_dir(env) / "outbox"


def mail_settings(env: Mapping[str, str]) -> Settings:
    configured = env.get("HUB_DATA_DIR")
    return Settings(data_dir=Path(configured)) if configured else Settings()


def mailer_from(settings: Settings, folder: Path) -> Mailer:
    """SMTP when a server is configured, else the outbox folder."""
    if settings.smtp_host is None:
        return FolderMailbox(folder)
    password = settings.smtp_password
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password.get_secret_value() if password else None,
        starttls=settings.smtp_starttls,
    )


class Outbox(EventSourcedProjection[str]):
    """The `outbox` process application: one email delivery per queued message."""

    name = NAME
    topics = (QUEUED, NOTIFIED)

    def __init__(self, env: Mapping[str, str], *, box: SecretBox | None = None) -> None:
        super().__init__(dict(env))
        self._box = box

    @property
    def box(self) -> SecretBox:
        """The hub's key, read when a notification is first sealed (not at start: in the
        embedded mode the HTTP process may not have made it yet)."""
        if self._box is None:
            self._box = box_from_env(self.env)
        return self._box

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        topic = get_topic(type(domain_event))
        happened: Any = domain_event
        tenant = tenant_of(happened.originator_id)
        if topic == QUEUED:
            key, kind = str(happened.originator_id), str(happened.kind)
            to, subject, sealed = happened.to, happened.subject, happened.body_sealed
        elif topic == NOTIFIED and EMAIL in happened.channels and happened.email:
            # One message per notification: the inbox and the cause name it.
            key, kind = f"{happened.originator_id}/{happened.cause}", NOTIFICATION
            to, subject = happened.email, happened.title
            body = f"{happened.title}\n\n{happened.text}\n"
            sealed = self.box.encrypt(body, context=body_context(tenant))
        else:
            return
        new_id = delivery_id(tenant, CONNECTOR, key)
        message_id = key if topic == QUEUED else new_id  # a file name and a Message-ID
        if self._exists(new_id):
            return
        with event_context(caused_by(happened, source=NAME)):
            delivery = Delivery(
                tenant=tenant,
                connector=CONNECTOR,
                key=key,
                target=f"mailto:{to}",
                payload={
                    "message_id": message_id,
                    "kind": kind,
                    "to": to,
                    "subject": subject,
                    "body_sealed": sealed,
                    "queued_at": happened.timestamp.isoformat(),
                },
                caused_by=f"{happened.originator_id}@{happened.originator_version}",
            )
        processing_event.collect_events(delivery)
        log.info("outbox.scheduled", tenant_id=tenant, delivery_id=delivery.id, kind=kind)

    def _exists(self, aggregate_id: str) -> bool:
        try:
            self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True


def build(env: Mapping[str, str], upstreams: Upstreams) -> Outbox:
    return Outbox(env)


SPEC = ProcessSpec(NAME, build, upstreams=("hub", NOTIFICATIONS))


@dataclass
class EmailSender:
    """One attempt: open the body with the hub's key and hand the message to the mailer."""

    box: SecretBox
    mailer: Mailer
    sender: str

    def __call__(self, delivery: Delivery) -> AttemptResult:
        payload = delivery.payload
        tenant = tenant_of(delivery.id)
        mail = Mail(
            message_id=str(payload["message_id"]),
            tenant=tenant,
            kind=str(payload["kind"]),
            sender=self.sender,
            to=str(payload["to"]),
            subject=str(payload["subject"]),
            body=self.box.decrypt(str(payload["body_sealed"]), context=body_context(tenant)),
            queued_at=str(payload["queued_at"]),
        )
        try:
            self.mailer.send(mail)
        except MailError as error:
            return AttemptResult(False, error=str(error), retryable=error.retryable)
        return AttemptResult(True)


def run_deliveries(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    retry: RetrySchedule | None = None,
    mailer: Mailer | None = None,
    lease_ttl: float = DEFAULT_TTL,
    backoff: Backoff = DEFAULT_BACKOFF,
    idle_s: float = 1.0,
) -> None:
    """Send due emails while this process holds the `outbox-deliveries` lease."""
    settings = mail_settings(env)

    @contextmanager
    def open_sender() -> Iterator[EmailSender]:
        yield EmailSender(
            box_from_env(env),
            mailer or mailer_from(settings, outbox_folder(env)),
            settings.mail_from,
        )

    run_delivery_loop(
        env,
        stop,
        lease=SCHEDULER,
        log_name=NAME,
        open_sender=open_sender,
        retry=retry or RetrySchedule(),
        idle_s=idle_s,
        lease_ttl=lease_ttl,
        backoff=backoff,
    )


run_deliveries_logged = logged(run_deliveries, SCHEDULER)


def delivery_log(env: Mapping[str, str]) -> Application[str]:
    return UpstreamLog(NAME, env)
