"""The OAuth2 pieces the token endpoints share: signed claims, scopes asked for."""

from __future__ import annotations

import pytest

from hub.http.oauth import (
    InvalidScopeError,
    TokenError,
    TokenSigner,
    b64url,
    requested_scopes,
)

KEY = b"k" * 32


def test_signed_claims_read_back_until_they_expire() -> None:
    signer = TokenSigner(KEY, b"purpose-a")
    token = signer.sign({"t": "acme", "exp": 100})
    assert signer.claims(token, now=99) == {"t": "acme", "exp": 100}
    with pytest.raises(TokenError, match="expired"):
        signer.claims(token, now=100)


def test_a_token_of_another_purpose_or_key_is_refused() -> None:
    token = TokenSigner(KEY, b"purpose-a").sign({"exp": 100})
    for other in (TokenSigner(KEY, b"purpose-b"), TokenSigner(b"x" * 32, b"purpose-a")):
        with pytest.raises(TokenError, match="not one this hub issued"):
            other.claims(token, now=0)


def test_changed_claims_or_a_body_that_is_not_json_are_refused() -> None:
    signer = TokenSigner(KEY, b"purpose-a")
    body, _, mac = signer.sign({"t": "acme", "exp": 100}).partition(".")
    changed = b64url(b'{"t":"beta","exp":100}')
    with pytest.raises(TokenError):
        signer.claims(f"{changed}.{mac}", now=0)
    garbage = b64url(b"not json")
    with pytest.raises(TokenError, match="malformed"):
        signer.claims(f"{garbage}.{signer._mac(garbage)}", now=0)
    with pytest.raises(TokenError):
        signer.claims(body, now=0)


def test_a_token_gets_the_scopes_asked_for_if_the_client_holds_them() -> None:
    held = ("a:read", "b:write")
    assert requested_scopes(held, None) == held
    assert requested_scopes(held, "  ") == held
    assert requested_scopes(held, "b:write b:write") == ("b:write",)
    with pytest.raises(InvalidScopeError, match="c:admin"):
        requested_scopes(held, "a:read c:admin")
