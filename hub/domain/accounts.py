"""Observer accounts of before issue 9's one-person fix, and every person's credentials.

An `Account` was an observer known by their tenant's email address (`EmailIndex`, the
same index that learners claim). Observers are now `Learner`s (role `observer`), so a
person who later signs in from Spark, an LTI platform or a roster with the same address
is the same person; `Account`s already in the log are read as they are. `Credentials`
(issue 9) add a password and one-time links to any person, an account or a learner.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id, check_tenant
from hub.domain.learners import normalise_email


def account_id(tenant: str, email: str) -> str:
    return aggregate_id(tenant, "Account", normalise_email(email))


class Account(HubAggregate):
    """An observer of one tenant known by email (opened before observers were learners)."""

    @staticmethod
    def create_id(tenant: str, email: str, **_: object) -> str:
        return account_id(tenant, email)

    @event("Opened")
    def __init__(self, tenant: str, email: str, name: str, role: str, source: str) -> None:
        self.email = normalise_email(email)
        self.name = name
        self.role = role


# -- credentials (issue 9) ------------------------------------------------------------------
#
# A person's ways to sign in without a partner: a password (its argon2id hash only) and
# one-time links (sign-in and password reset; their SHA-256 only). They belong to a
# person (a `Learner` or an `Account`), whoever holds the tenant's email address, so a
# student who came by SSO sets a password on the same person, never a second one.
#
# A link token is `<tenant>.<credentials hex>.<secret>`: it names the credentials it
# opens, so using it is one read; the secret is 32 random bytes.
#
# Errors (all `CredentialsError`):
#
#     CredentialsError
#     ├── LinkError                  a sign-in or reset token that cannot be used
#     │   ├── LinkNotFoundError          malformed, unknown, or of another purpose
#     │   ├── LinkExpiredError           past its lifetime
#     │   └── LinkUsedError              already used (a link works once)
#     ├── PasswordPolicyError        a new password that is too short, too long or the email
#     └── CurrentPasswordError       changing a password without the current one

SIGN_IN, RESET = "sign-in", "reset"
LINK_LIFETIMES = {SIGN_IN: timedelta(minutes=15), RESET: timedelta(hours=1)}
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
_LINK = re.compile(r"^([a-z0-9][a-z0-9-]{0,39})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{32,64})$")


class CredentialsError(Exception):
    """The base of every refusal about passwords and sign-in links."""


class LinkError(CredentialsError):
    """A sign-in or reset token that cannot be used."""


class LinkNotFoundError(LinkError):
    """Raised for a token that is malformed, unknown, or made for another purpose."""


class LinkExpiredError(LinkError):
    """Raised for a token past its lifetime (`LINK_LIFETIMES`)."""


class LinkUsedError(LinkError):
    """Raised for a token already used."""


class PasswordPolicyError(CredentialsError):
    """Raised for a new password shorter than 12 or longer than 256 characters, or the email."""


class CurrentPasswordError(CredentialsError):
    """Raised when a password is changed without the right current one."""


def credentials_id(tenant: str, person_id: str) -> str:
    return aggregate_id(tenant, "Credentials", person_id)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link_token(credentials: str) -> str:
    tenant, _, hex_id = credentials.split(".")
    return f"{tenant}.{hex_id}.{secrets.token_urlsafe(32)}"


def credentials_of_token(token: str) -> str:
    """The id of the credentials a token opens; `LinkNotFoundError` if it is malformed."""
    match = _LINK.match(token)
    if match is None:
        msg = "this link is not valid: ask for a new one"
        raise LinkNotFoundError(msg)
    tenant, hex_id, _ = match.groups()
    return f"{check_tenant(tenant)}.Credentials.{hex_id}"


def link_id(credentials: str, digest: str) -> str:
    return uuid5(NAMESPACE_URL, f"{credentials}\x1f{digest}").hex


def check_password_policy(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        msg = f"a password has at least {MIN_PASSWORD_CHARS} characters ({len(password)} sent)"
        raise PasswordPolicyError(msg)
    if len(password) > MAX_PASSWORD_CHARS:
        msg = f"a password has at most {MAX_PASSWORD_CHARS} characters"
        raise PasswordPolicyError(msg)
    if normalise_email(password) == normalise_email(email):
        msg = "a password cannot be the email address"
        raise PasswordPolicyError(msg)


class Credentials(HubAggregate):
    """One person's password hash and one-time links (sign-in, reset)."""

    @staticmethod
    def create_id(tenant: str, person_id: str, **_: object) -> str:
        return credentials_id(tenant, person_id)

    @event("Opened")
    def __init__(self, tenant: str, person_id: str) -> None:
        self.person_id = person_id
        self.password_hash: str | None = None
        self.links: dict[str, dict[str, Any]] = {}

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def set_password(self, password_hash: str, *, how: str, link: str | None = None) -> None:
        """Record a new hash (`how`: set, changed or reset; `link`: the reset link used)."""
        self._password_set(
            person_id=self.person_id, password_hash=password_hash, how=how, link_id=link
        )

    @event("PasswordSet")
    def _password_set(
        self, person_id: str, password_hash: str, how: str, link_id: str | None
    ) -> None:
        self.password_hash = password_hash
        if link_id is not None:
            self.links[link_id]["used"] = True

    def send_link(self, purpose: str, now: datetime) -> tuple[str, str, str]:
        """A new one-time link for `purpose`: its id, its token (to be sent, never stored)
        and its expiry."""
        token = new_link_token(self.id)
        digest = token_sha256(token)
        expires_at = (now + LINK_LIFETIMES[purpose]).isoformat()
        found = link_id(self.id, digest)
        self._link_sent(
            person_id=self.person_id,
            link_id=found,
            token_sha256=digest,
            purpose=purpose,
            sent_at=now.isoformat(),
            expires_at=expires_at,
        )
        return found, token, expires_at

    @event("LinkSent")
    def _link_sent(
        self,
        person_id: str,
        link_id: str,
        token_sha256: str,
        purpose: str,
        sent_at: str,
        expires_at: str,
    ) -> None:
        self.links[link_id] = {
            "token_sha256": token_sha256,
            "purpose": purpose,
            "expires_at": expires_at,
            "used": False,
        }

    def check_link(self, token: str, purpose: str, now: datetime) -> str:
        """The id of the usable `purpose` link `token` is, or why it is not."""
        digest = token_sha256(token)
        found = link_id(self.id, digest)
        link = self.links.get(found)
        if (
            link is None
            or link["purpose"] != purpose
            or not hmac.compare_digest(link["token_sha256"], digest)
        ):
            msg = "no such link: ask for a new one"
            raise LinkNotFoundError(msg)
        if link["used"]:
            msg = "this link was already used: a link works once, ask for a new one"
            raise LinkUsedError(msg)
        if datetime.fromisoformat(link["expires_at"]) <= now:
            msg = f"this link expired at {link['expires_at']}: ask for a new one"
            raise LinkExpiredError(msg)
        return found

    def use_link(self, token: str, now: datetime) -> None:
        """Sign in with a sign-in link (once)."""
        found = self.check_link(token, SIGN_IN, now)
        self._link_used(person_id=self.person_id, link_id=found, used_at=now.isoformat())

    @event("LinkUsed")
    def _link_used(self, person_id: str, link_id: str, used_at: str) -> None:
        self.links[link_id]["used"] = True
