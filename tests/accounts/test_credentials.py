"""Credentials on their own (no server): links by purpose and lifetime, once; the password
rules; the hasher's parameters and the rehash of an older hash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, Type

from hub.accounts.passwords import MEMORY_COST_KIB, PARALLELISM, TIME_COST, Passwords
from hub.domain.accounts import (
    RESET,
    SIGN_IN,
    Credentials,
    LinkExpiredError,
    LinkNotFoundError,
    LinkUsedError,
    PasswordPolicyError,
    check_password_policy,
    credentials_of_token,
)
from tests.accounts.conftest import T0


def credentials() -> Credentials:
    return Credentials(tenant="acme", person_id="acme.Learner.0123")


def test_a_sign_in_link_works_once_within_15_minutes_and_for_sign_in_only() -> None:
    found = credentials()
    _, token, expires_at = found.send_link(SIGN_IN, T0)
    assert expires_at == (T0 + timedelta(minutes=15)).isoformat()
    assert credentials_of_token(token) == found.id
    with pytest.raises(LinkNotFoundError):
        found.check_link(token, RESET, T0)
    with pytest.raises(LinkExpiredError):
        found.use_link(token, T0 + timedelta(minutes=15))
    found.use_link(token, T0 + timedelta(minutes=14))
    with pytest.raises(LinkUsedError):
        found.use_link(token, T0 + timedelta(minutes=14))


def test_a_reset_link_lasts_an_hour_and_is_spent_by_the_new_password() -> None:
    found = credentials()
    _, token, _ = found.send_link(RESET, T0)
    link = found.check_link(token, RESET, T0 + timedelta(minutes=59))
    found.set_password("$argon2id$...", how="reset", link=link)
    with pytest.raises(LinkUsedError):
        found.check_link(token, RESET, T0)


def test_tokens_of_another_shape_or_secret_are_not_found() -> None:
    found = credentials()
    _, token, _ = found.send_link(SIGN_IN, T0)
    for malformed in ("", "acme.Credentials.x", "acme." + "0" * 32):
        with pytest.raises(LinkNotFoundError):
            credentials_of_token(malformed)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert credentials_of_token(forged) == found.id
    with pytest.raises(LinkNotFoundError):
        found.check_link(forged, SIGN_IN, T0)
    assert all(token not in str(event) for event in found.collect_events())  # hash only


@pytest.mark.parametrize("password", ["short", "x" * 257, "Sam@Example.org"])
def test_the_password_rules(password: str) -> None:
    with pytest.raises(PasswordPolicyError):
        check_password_policy(password, "sam@example.org")


def test_the_hash_is_argon2id_with_the_stated_parameters_and_older_ones_are_rehashed() -> None:
    passwords = Passwords()
    stored = passwords.hash("a long enough password")
    assert stored.startswith(f"$argon2id$v=19$m={MEMORY_COST_KIB},t={TIME_COST},p={PARALLELISM}$")
    assert passwords.matches(stored, "a long enough password")
    assert not passwords.matches(stored, "another password entirely")
    assert not passwords.matches(None, "a long enough password")
    assert not passwords.matches("not a hash", "a long enough password")
    older = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    assert passwords.needs_rehash(older.hash("x" * 12))
    assert not passwords.needs_rehash(stored)
