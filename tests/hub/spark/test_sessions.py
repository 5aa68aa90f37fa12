"""Session cookies: signed with a key derived from the hub's secret key, refused when touched."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from hub.spark.sessions import SessionInvalidError, SessionSigner, session_key
from infra.settings import Settings

KEY = b"k" * 32


def test_a_cookie_reads_back_as_its_session() -> None:
    signer = SessionSigner(KEY)
    cookie, session = signer.issue(
        tenant="acme", learner_id="acme.Learner.x", role="student", position=42, now=1000
    )
    assert signer.read(cookie, now=1001) == session
    assert session.expires_at == 1000 + 8 * 3600
    assert session.position == 42


@pytest.mark.parametrize("cookie", [None, "", "no-dot", "a.b.c", "e30.AAAA"])
def test_malformed_cookies_are_refused(cookie: str | None) -> None:
    with pytest.raises(SessionInvalidError):
        SessionSigner(KEY).read(cookie, now=0)


def test_a_changed_payload_or_another_key_is_refused() -> None:
    cookie, _ = SessionSigner(KEY).issue(
        tenant="acme", learner_id="acme.Learner.x", role="student", position=1, now=1000
    )
    payload, mac = cookie.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["tenant"] = "beta"
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(SessionInvalidError):
        SessionSigner(KEY).read(f"{forged}.{mac}", now=1001)
    with pytest.raises(SessionInvalidError):
        SessionSigner(b"o" * 32).read(cookie, now=1001)


def test_an_expired_session_is_refused() -> None:
    signer = SessionSigner(KEY, lifetime_s=60)
    cookie, _ = signer.issue(
        tenant="a", learner_id="a.Learner.x", role="student", position=1, now=1000
    )
    with pytest.raises(SessionInvalidError, match="expired"):
        signer.read(cookie, now=1060)


def test_the_key_follows_the_hub_s_secret_key(tmp_path: Path) -> None:
    one = session_key(Settings(data_dir=tmp_path, secret_key=SecretStr("one")))
    two = session_key(Settings(data_dir=tmp_path, secret_key=SecretStr("two")))
    from_file = session_key(Settings(data_dir=tmp_path))
    assert len({one, two, from_file}) == 3
    assert session_key(Settings(data_dir=tmp_path)) == from_file  # the same key file
    assert one != b"one"
