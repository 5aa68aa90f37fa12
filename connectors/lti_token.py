"""Access tokens from a platform's token endpoint, for the hub as tool (AGS, NRPS).

OAuth 2 client credentials with a JWT client assertion (RFC 7523) signed with the
tenant's LTI key: `iss = sub = client_id`, `aud` = the token URL as a string (Canvas
wants it exactly; Brightspace refuses a list), `iat` 5 s in the past, `exp` a minute on,
a fresh `jti`. A token is cached per registration and scope set until shortly before it
expires; a 401 from a service drops it (`forget`).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from joserfc import jwt

from hub.domain.lti_tool import PlatformRegistration
from infra.http import guarded_client

if TYPE_CHECKING:
    from hub.lti.keys import LtiKeys

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
EXPIRY_MARGIN_S = 30.0
DEFAULT_LIFETIME_S = 3600.0
ClientFactory = Callable[[Iterable[str]], httpx.Client]


class LtiServiceError(Exception):
    """A platform's token endpoint or service refused or failed; `retryable` says whether
    trying again later can help (network errors, 429, 5xx)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after


def error_of(response: httpx.Response, what: str) -> LtiServiceError:
    """The error a non-2xx answer means (429 and 5xx retryable, honouring Retry-After)."""
    status = response.status_code
    retry_after = response.headers.get("retry-after", "")
    return LtiServiceError(
        f"{what} answered {status}",
        status_code=status,
        retryable=status == 429 or status >= 500,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )


def client_for(allowed_hosts: Iterable[str]) -> httpx.Client:
    return guarded_client(allowed_hosts=allowed_hosts)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


class ToolTokens:
    """Access tokens per (registration, scopes), fetched once and reused until expiry."""

    def __init__(  # `clock` says when a cached token expires
        self,
        keys: LtiKeys,
        *,
        clock: Callable[[], float] = time.monotonic,
        clients: ClientFactory = client_for,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._clients = clients
        self._cache: dict[tuple[str, frozenset[str]], _Token] = {}
        self._lock = threading.Lock()

    def assertion(self, registration: PlatformRegistration) -> str:
        signing = self._keys.signing_key(registration.tenant)
        now = int(time.time())  # the platform checks it against its own clock
        claims = {
            "iss": registration.client_id,
            "sub": registration.client_id,
            "aud": registration.auth_token_url,
            "iat": now - 5,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(signing.header, claims, signing.key)

    def token(self, registration: PlatformRegistration, scopes: Iterable[str]) -> str:
        key = (registration.id, frozenset(scopes))
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at > self._clock():
            return cached.value
        fetched = self._fetch(registration, sorted(key[1]))
        with self._lock:
            self._cache[key] = fetched
        return fetched.value

    def forget(self, registration: PlatformRegistration, scopes: Iterable[str]) -> None:
        with self._lock:
            self._cache.pop((registration.id, frozenset(scopes)), None)

    def _fetch(self, registration: PlatformRegistration, scopes: list[str]) -> _Token:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(registration),
            "scope": " ".join(scopes),
        }
        try:
            with self._clients(registration.allowed_hosts) as client:
                response = client.post(registration.auth_token_url, data=form)
        except httpx.HTTPError as error:
            msg = f"the token endpoint could not be reached: {error}"
            raise LtiServiceError(msg, retryable=True) from error
        if response.status_code != 200:
            raise error_of(response, "the token endpoint")
        try:
            body = response.json()
            value = str(body["access_token"])
            lifetime = float(body.get("expires_in", DEFAULT_LIFETIME_S))
        except (ValueError, KeyError, TypeError) as error:
            msg = "the token endpoint's answer has no access_token"
            raise LtiServiceError(msg) from error
        return _Token(value, self._clock() + max(0.0, lifetime - EXPIRY_MARGIN_S))
