"""Signed session cookies: who signed in, for which tenant, until when, and what they wrote.

`<base64url(JSON payload)>.<base64url(HMAC-SHA256)>`; the key is derived from the hub's
secret key (HUB_SECRET_KEY, or the embedded mode's key file), so every process of one
hub accepts the cookies of the others and a new key signs everyone out. The payload
carries the log position the sign-in wrote, so a page can read its own writes.

Every way in signs a person in the same way (Spark SSO, LTI launches, an accepted
invitation): `issue(...)` with the person's id (a Learner id, or an account id) and
role, then `set_session_cookie(response, signer, cookie)`, `embedded=True` inside an
LTI iframe (SameSite=None).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from starlette.responses import Response

from infra.secrets import load_or_create_key_file
from infra.settings import Settings

COOKIE_NAME = "hub_session"
SESSION_LIFETIME_S = 8 * 3600
_PURPOSE = b"hub.spark.session.v1"
STUDENT, PARENT, OBSERVER, ADMIN = "student", "parent", "observer", "admin"


class SessionInvalidError(ValueError):
    """Raised for a cookie that is malformed, forged or expired."""


@dataclass(frozen=True)
class Session:
    tenant: str
    learner_id: str
    role: str
    issued_at: int
    expires_at: int
    position: int
    roles: tuple[str, ...] = ()  # the person's other roles (issue 9: one person, two roles)

    def holds(self, role: str) -> bool:
        """Whether the signed-in person holds `role`: the session's, or another of theirs."""
        return role == self.role or role in self.roles

    @property
    def person_id(self) -> str:
        """The signed-in person (a Learner id for a student, a parent's or an observer's id
        for them): `learner_id` is its historical name."""
        return self.learner_id


def session_key(settings: Settings) -> bytes:
    """The signing key, derived from the hub's secret key (never the key itself)."""
    if settings.secret_key is not None:
        secret = settings.secret_key.get_secret_value()
    else:
        settings.require_production_secrets()
        secret = load_or_create_key_file(settings.data_dir / "secret.key")
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session cookies with one key."""

    def __init__(self, key: bytes, *, lifetime_s: int = SESSION_LIFETIME_S) -> None:
        if len(key) < 32:
            msg = "a session key needs at least 32 bytes"
            raise ValueError(msg)
        self._key = key
        self.lifetime_s = lifetime_s

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(
        self,
        *,
        tenant: str,
        learner_id: str,
        role: str,
        position: int,
        now: int,
        roles: Sequence[str] = (),
    ) -> tuple[str, Session]:
        session = Session(
            tenant=tenant,
            learner_id=learner_id,
            role=role,
            issued_at=now,
            expires_at=now + self.lifetime_s,
            position=position,
            roles=tuple(dict.fromkeys(other for other in roles if other != role)),
        )
        payload = _b64(json.dumps(asdict(session), separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}", session

    def read(self, cookie: str | None, *, now: int) -> Session:
        if not cookie or cookie.count(".") != 1:
            msg = "no session: sign in first"
            raise SessionInvalidError(msg)
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            msg = "the session cookie is not valid: sign in again"
            raise SessionInvalidError(msg)
        try:
            fields = json.loads(_unb64(payload))
            session = Session(**{**fields, "roles": tuple(fields.get("roles", ()))})
        except (ValueError, TypeError, AttributeError) as error:
            msg = "the session cookie is not valid: sign in again"
            raise SessionInvalidError(msg) from error
        if session.expires_at <= now:
            msg = "the session has expired: sign in again"
            raise SessionInvalidError(msg)
        return session


def set_session_cookie(
    response: Response, signer: SessionSigner, cookie: str, *, embedded: bool = False
) -> None:
    """Set the session cookie: HttpOnly, Secure, SameSite=Lax (None inside an LTI iframe,
    where the hub is a third party and Lax cookies are not sent)."""
    response.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=signer.lifetime_s,
        path="/",
        secure=True,
        httponly=True,
        samesite="none" if embedded else "lax",
    )
