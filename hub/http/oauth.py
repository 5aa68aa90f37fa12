"""OAuth2 client credentials pieces shared by the token endpoints (OneRoster, the hub's API).

A signed access token is `<base64url claims>.<base64url HMAC-SHA256>`: checking one costs
a MAC and a JSON parse, no I/O. The key is derived per purpose, so a token issued for
one API is never accepted by another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class TokenError(Exception):
    """Raised for an access token that is missing, forged, malformed or expired."""


class InvalidScopeError(Exception):
    """Raised when a token request names a scope the client does not hold."""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs and checks claims with a key derived from `key` for `purpose`."""

    def __init__(self, key: bytes, purpose: bytes) -> None:
        self._key = hmac.new(key, purpose, hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return b64url(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def sign(self, claims: dict[str, Any]) -> str:
        body = b64url(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def claims(self, token: str, now: int) -> dict[str, Any]:
        """The claims of a token this signer issued that has not expired (`exp`)."""
        body, _, mac = token.partition(".")
        if not mac or not hmac.compare_digest(mac, self._mac(body)):
            raise TokenError("the access token is not one this hub issued")
        try:
            claims = json.loads(unb64url(body))
            expires = int(claims["exp"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise TokenError("the access token is malformed") from None
        if expires <= now:
            raise TokenError("the access token has expired")
        if not isinstance(claims, dict):
            raise TokenError("the access token is malformed")
        return claims


def requested_scopes(held: tuple[str, ...], requested: str | None) -> tuple[str, ...]:
    """The scopes a token gets: those requested (space-separated), all of them held by the
    client, or every scope it holds when none is requested."""
    if not requested or not requested.strip():
        return held
    wanted = tuple(dict.fromkeys(requested.split()))
    extra = [scope for scope in wanted if scope not in held]
    if extra:
        raise InvalidScopeError(f"the client does not hold the scope {extra[0]}")
    return wanted


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(client_id, client_secret) from an `Authorization: Basic` header, if there is one."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def bearer_token(header: str) -> str | None:
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def token_form(request: Request) -> dict[str, str]:
    """The token request's form fields (read by hand: four plain fields, no multipart)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {key: values[0] for key, values in parse_qs(body).items()}


def client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """The client's id and secret, from Basic auth or else from the form (RFC 6749 §2.3.1)."""
    return basic_credentials(request) or (form.get("client_id", ""), form.get("client_secret", ""))


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    """An RFC 6749 §5.2 error response."""
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth2"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def token_response(token: str, expires_in: int, scopes: tuple[str, ...]) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": expires_in,
            "scope": " ".join(scopes),
        },
        headers={"Cache-Control": "no-store"},
    )


class OAuthErrorOut(BaseModel):
    """RFC 6749 §5.2."""

    error: str
    error_description: str


# The token endpoints' errors, for their OpenAPI `responses`.
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": OAuthErrorOut, "description": text}
    for code, text in (
        (400, "RFC 6749 §5.2: invalid_request, unsupported_grant_type, invalid_scope"),
        (401, "RFC 6749 §5.2: invalid_client"),
    )
}
