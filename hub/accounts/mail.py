"""The emails accounts and families send: composed here, queued as `OutboxMessage.Queued`."""

from __future__ import annotations

from urllib.parse import quote

from hub.domain.outbox import (
    INVITATION,
    PASSWORD_RESET,
    SIGN_IN_LINK,
    OutboxMessage,
    body_context,
)
from infra.secrets import SecretBox

SIGN_IN_PATH = "/accounts/sign-in"
RESET_PATH = "/accounts/reset"
ACCEPT_PATH = "/observer/accept/"


def queued(
    box: SecretBox, tenant: str, kind: str, key: str, *, to: str, subject: str, body: str
) -> OutboxMessage:
    """The message, its body sealed for the tenant (to be saved with what caused it)."""
    return OutboxMessage(
        tenant=tenant,
        kind=kind,
        key=key,
        to=to,
        subject=subject,
        body_sealed=box.encrypt(body, context=body_context(tenant)),
    )


_LINKS = {
    SIGN_IN_LINK: (SIGN_IN_PATH, "Your sign-in link", "sign in to the hub", ""),
    PASSWORD_RESET: (
        RESET_PATH,
        "Reset your password",
        "choose a new password",
        ": your password is unchanged",
    ),
}


def link_email(
    box: SecretBox,
    base_url: str,
    tenant: str,
    kind: str,
    *,
    link: str,
    to: str,
    token: str,
    expires_at: str,
) -> OutboxMessage:
    """The email of a one-time link (`kind`: sign-in link or password reset)."""
    path, subject, to_do, unchanged = _LINKS[kind]
    url = f"{base_url}{path}?token={quote(token)}"
    body = (
        f"Hello,\n\nOpen this link to {to_do}:\n\n{url}\n\n"
        f"It works once, until {expires_at}. "
        f"If you did not ask for it, ignore this email{unchanged}.\n"
    )
    return queued(box, tenant, kind, link, to=to, subject=subject, body=body)


def invitation(
    box: SecretBox,
    base_url: str,
    tenant: str,
    *,
    invitation_id: str,
    to: str,
    name: str,
    student: str,
    code: str,
    expires_at: str,
) -> OutboxMessage:
    url = f"{base_url}{ACCEPT_PATH}{quote(code)}"
    body = (
        f"Hello {name},\n\n{student} invites you to follow their learning as an observer.\n"
        f"Accept the invitation here:\n\n{url}\n\nThe link works once, until {expires_at}.\n"
    )
    subject = f"{student} invites you to follow their learning"
    return queued(box, tenant, INVITATION, invitation_id, to=to, subject=subject, body=body)
