"""The scopes' names and the callers they make."""

from __future__ import annotations

import pytest

from hub.api.scopes import ADMIN, HUB_ADMIN, SCOPES, Caller, require_scope


def test_the_scopes_are_the_contract_s() -> None:
    assert SCOPES == (
        "portfolio:read",
        "roster:read",
        "scores:write",
        "events:read",
        "webhooks:manage",
        "admin",
    )


def test_admin_grants_every_scope_and_the_hub_admin_holds_all() -> None:
    tenant_admin = Caller("acme", "acme.0123456789abcdef", frozenset({ADMIN}), is_hub_admin=False)
    assert all(tenant_admin.allows(scope) for scope in SCOPES)
    reader = Caller("acme", "acme.0123456789abcdef", frozenset({"events:read"}), False)
    assert not reader.allows("scores:write")
    assert reader.verified_by == "client:acme.0123456789abcdef"
    assert HUB_ADMIN.verified_by == "admin-token"
    assert HUB_ADMIN.scopes == frozenset(SCOPES)


def test_an_unknown_scope_cannot_guard_a_route() -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        require_scope("everything")
