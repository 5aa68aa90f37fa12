"""Emails the hub sends (invitations, sign-in links, resets, notifications), as queued.

The body is sealed (AES-GCM under the hub's key, `SecretBox`): it may hold a one-time
token, which must never be readable in the log. The `outbox` connector turns each
queued message into a `Delivery` and sends it (SMTP, or the embedded mode's folder).
"""

from __future__ import annotations

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

INVITATION, SIGN_IN_LINK, PASSWORD_RESET, NOTIFICATION = (
    "invitation",
    "sign-in-link",
    "password-reset",
    "notification",
)


def outbox_message_id(tenant: str, kind: str, key: str) -> str:
    """One message per (kind, what caused it): a repeat queues nothing new."""
    return aggregate_id(tenant, "OutboxMessage", kind, key)


def body_context(tenant: str) -> str:
    """The associated data the body is sealed with: a body opens only for its tenant."""
    return f"{tenant}:outbox"


class OutboxMessage(HubAggregate):
    """One email to one address."""

    @staticmethod
    def create_id(tenant: str, kind: str, key: str, **_: object) -> str:
        return outbox_message_id(tenant, kind, key)

    @event("Queued")
    def __init__(
        self, tenant: str, kind: str, key: str, to: str, subject: str, body_sealed: str
    ) -> None:
        self.kind = kind
        self.to = to
        self.subject = subject
        self.body_sealed = body_sealed
