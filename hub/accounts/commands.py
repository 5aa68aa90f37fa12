"""Accounts commands on the `hub` app: one function each, deciding on aggregates, one save.

    open_account          Learner.Registered (student, parent, guardian, observer) +
                          EmailIndex.Claimed; for an address already held, that person is
                          returned (linked, never duplicated), Learner.RoleAdded if the
                          role is new to them
    set_password          Credentials.PasswordSet (+ Opened, the first time)
    password_sign_in      nothing (a rehash with newer parameters: PasswordSet)
    send_sign_in_link     Credentials.LinkSent + OutboxMessage.Queued (one atomic batch)
    sign_in_with_link     Credentials.LinkUsed
    send_password_reset   Credentials.LinkSent + OutboxMessage.Queued
    reset_password        Credentials.PasswordSet (the reset link used with it)

An unknown address asks for a link or a reset in vain, silently: the answer is the same,
so nobody learns who has an account. Callers set the `event_context` and pass `now`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.accounts import mail
from hub.accounts.errors import RoleNotAllowedError, SignInFailedError
from hub.accounts.passwords import Passwords
from hub.application import Hub
from hub.domain.accounts import (
    RESET,
    SIGN_IN,
    Account,
    Credentials,
    CurrentPasswordError,
    check_password_policy,
    credentials_id,
    credentials_of_token,
)
from hub.domain.base import check_tenant, tenant_of
from hub.domain.learners import (
    HUB,
    EmailIndex,
    Learner,
    email_index_id,
    hub_person,
    normalise_email,
)
from hub.domain.outbox import PASSWORD_RESET, SIGN_IN_LINK
from hub.unit_of_work import get_or_none, retrying, saved
from infra.secrets import SecretBox

LEARNER_ROLES = ("student", "parent", "guardian")
ACCOUNT_ROLES = ("observer",)
SOURCE = HUB


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, as the session records them."""

    tenant: str
    person_id: str
    role: str
    position: int
    roles: tuple[str, ...] = ()  # every role the person holds, `role` first


def _signed_in(person: Learner | Account, position: int) -> SignedIn:
    roles = person.roles if isinstance(person, Learner) else (person.role,)
    return SignedIn(person.tenant, person.id, person.role, position, roles)


@dataclass(frozen=True)
class OpenedAccount:
    person_id: str
    created: bool
    position: int | None


def person_by_email(hub: Hub, tenant: str, email: str) -> Learner | Account | None:
    """Whoever holds the tenant's address (a learner or an account), or None."""
    index: EmailIndex | None = get_or_none(hub, email_index_id(check_tenant(tenant), email))
    if index is None:
        return None
    found = get_or_none(hub, index.learner_id)
    return found if isinstance(found, Learner | Account) else None


def _credentials(hub: Hub, tenant: str, person_id: str) -> Credentials:
    found: Credentials | None = get_or_none(hub, credentials_id(tenant, person_id))
    return found or Credentials(tenant=tenant, person_id=person_id)


# -- accounts ------------------------------------------------------------------------------


def open_account(
    hub: Hub, tenant: str, *, email: str, name: str, role: str, source: str = "admin"
) -> OpenedAccount:
    """The person who holds `email`, else a new one of `role`."""
    check_tenant(tenant)
    if role not in LEARNER_ROLES + ACCOUNT_ROLES:
        allowed = ", ".join(LEARNER_ROLES + ACCOUNT_ROLES)
        msg = f"role {role!r} is not one the hub opens accounts for ({allowed})"
        raise RoleNotAllowedError(msg)
    address = normalise_email(email)

    def once() -> OpenedAccount:
        held = person_by_email(hub, tenant, address)
        if held is None:
            made = hub_person(tenant, address, name, role)
            index = EmailIndex(tenant=tenant, email=address, learner_id=made.id)
            return OpenedAccount(made.id, True, saved(hub, made, index))
        # Linked, never duplicated: the person takes on the role (an observer `Account` of
        # before issue 9's fix cannot, and stays as it is).
        if isinstance(held, Learner) and held.take_on_role(role, source):
            return OpenedAccount(held.id, False, saved(hub, held))
        return OpenedAccount(held.id, False, None)

    return retrying(once)


def _person(hub: Hub, person_id: str) -> Learner | Account:
    found = get_or_none(hub, person_id)
    if not isinstance(found, Learner | Account):
        msg = f"no learner or account has the id {person_id!r}"
        raise LookupError(msg)
    return found


# -- passwords -----------------------------------------------------------------------------


def set_password(
    hub: Hub,
    passwords: Passwords,
    tenant: str,
    person_id: str,
    password: str,
    *,
    current_password: str | None = None,
) -> int:
    """Set the signed-in person's password (the current one is needed to change it)."""
    if tenant_of(person_id) != tenant:
        msg = f"{person_id!r} does not belong to tenant {tenant!r}"
        raise LookupError(msg)
    person = _person(hub, person_id)
    check_password_policy(password, person.email)
    hashed = passwords.hash(password)

    def once() -> int:
        credentials = _credentials(hub, tenant, person_id)
        how = "set"
        if credentials.has_password:
            if current_password is None or not passwords.matches(
                credentials.password_hash, current_password
            ):
                msg = "send the current password to change it (or reset it by email)"
                raise CurrentPasswordError(msg)
            how = "changed"
        credentials.set_password(hashed, how=how)
        return saved(hub, credentials)

    return retrying(once)


def password_sign_in(
    hub: Hub, passwords: Passwords, tenant: str, email: str, password: str
) -> SignedIn:
    """The person whose address and password these are; `SignInFailedError` otherwise."""
    person = person_by_email(hub, tenant, email)
    stored = None
    credentials: Credentials | None = None
    if person is not None:
        credentials = get_or_none(hub, credentials_id(tenant, person.id))
        stored = None if credentials is None else credentials.password_hash
    if not passwords.matches(stored, password) or person is None or credentials is None:
        msg = "the email address or the password is wrong"
        raise SignInFailedError(msg)
    position = 0
    if stored is not None and passwords.needs_rehash(stored):
        credentials.set_password(passwords.hash(password), how="rehashed")
        position = saved(hub, credentials)
    return _signed_in(person, position)


# -- one-time links ------------------------------------------------------------------------


def _send_link(
    hub: Hub,
    box: SecretBox,
    base_url: str,
    tenant: str,
    email: str,
    *,
    purpose: str,
    now: datetime,
) -> int | None:
    person = person_by_email(hub, tenant, email)
    if person is None:
        return None
    kind = SIGN_IN_LINK if purpose == SIGN_IN else PASSWORD_RESET

    def once() -> int:
        credentials = _credentials(hub, tenant, person.id)
        link, token, expires_at = credentials.send_link(purpose, now)
        message = mail.link_email(
            box,
            base_url,
            tenant,
            kind,
            link=link,
            to=person.email,
            token=token,
            expires_at=expires_at,
        )
        return saved(hub, credentials, message)

    return retrying(once)


def send_sign_in_link(
    hub: Hub, box: SecretBox, base_url: str, tenant: str, email: str, *, now: datetime
) -> int | None:
    """Email a one-time sign-in link to the address's person; None (silently) if nobody."""
    return _send_link(hub, box, base_url, tenant, email, purpose=SIGN_IN, now=now)


def send_password_reset(
    hub: Hub, box: SecretBox, base_url: str, tenant: str, email: str, *, now: datetime
) -> int | None:
    """Email a one-time reset link to the address's person; None (silently) if nobody."""
    return _send_link(hub, box, base_url, tenant, email, purpose=RESET, now=now)


def _credentials_of(hub: Hub, token: str) -> Credentials:
    found_id = credentials_of_token(token)
    found: Credentials | None = get_or_none(hub, found_id)
    # Unknown credentials refuse every token as not found (they have no links).
    return found or Credentials(tenant=tenant_of(found_id), person_id="")


def sign_in_with_link(hub: Hub, token: str, *, now: datetime) -> SignedIn:
    """Sign in with a sign-in link, once, before it expires."""

    def once() -> SignedIn:
        credentials = _credentials_of(hub, token)
        credentials.use_link(token, now)
        person = _person(hub, credentials.person_id)
        return _signed_in(person, saved(hub, credentials))

    return retrying(once)


def reset_password(
    hub: Hub, passwords: Passwords, token: str, password: str, *, now: datetime
) -> SignedIn:
    """Set a new password with a reset link (once, before it expires)."""
    credentials = _credentials_of(hub, token)
    credentials.check_link(token, RESET, now)
    person = _person(hub, credentials.person_id)
    check_password_policy(password, person.email)
    hashed = passwords.hash(password)

    def once() -> SignedIn:
        fresh = _credentials_of(hub, token)
        link = fresh.check_link(token, RESET, now)
        fresh.set_password(hashed, how="reset", link=link)
        return _signed_in(person, saved(hub, fresh))

    return retrying(once)


# -- invitations (family's), by email ------------------------------------------------------


def email_invitation(
    hub: Hub,
    box: SecretBox,
    base_url: str,
    tenant: str,
    student_id: str,
    *,
    invitation_id: str,
    code: str,
    email: str,
    name: str,
    expires_at: str,
) -> int:
    """Queue the invitation's email (once per invitation) with its one-time code."""
    student = _person(hub, student_id)
    student_name = getattr(student, "display_name", "") or getattr(student, "name", "")
    message = mail.invitation(
        box,
        base_url,
        tenant,
        invitation_id=invitation_id,
        to=normalise_email(email),
        name=name,
        student=str(student_name) or "A student",
        code=code,
        expires_at=expires_at,
    )
    return saved(hub, message)
