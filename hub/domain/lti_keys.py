"""A tenant's LTI signing keys: RS256, each `active`, then `retiring`, then `retired`.

One aggregate per tenant holds the ring, so a rotation is one event: the new key becomes
active and the previous active key starts retiring (still published, no longer used to
sign). Private keys are sealed with the hub's key; the event never holds them in clear.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id

ACTIVE = "active"
RETIRING = "retiring"
RETIRED = "retired"


class KeyStateError(Exception):
    """Raised when a key is moved out of turn (retiring the active key, an unknown kid)."""


def key_ring_id(tenant: str) -> str:
    return aggregate_id(tenant, "LtiKeyRing", "lti")


class LtiKeyRing(HubAggregate):
    """`keys` maps kid -> {kid, status, public_jwk, private_sealed, added_at}."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return key_ring_id(tenant)

    @event("Created")
    def __init__(
        self, tenant: str, kid: str, public_jwk: dict[str, Any], private_sealed: str, added_at: str
    ) -> None:
        self.keys: dict[str, dict[str, Any]] = {}
        self._add(kid, public_jwk, private_sealed, added_at)

    @event("KeyRotated")
    def rotate(
        self, kid: str, public_jwk: dict[str, Any], private_sealed: str, added_at: str
    ) -> None:
        for key in self.keys.values():
            if key["status"] == ACTIVE:
                key["status"] = RETIRING
        self._add(kid, public_jwk, private_sealed, added_at)

    def check_retire(self, kid: str) -> None:
        key = self.keys.get(kid)
        if key is None:
            msg = f"no key {kid!r} in this tenant's ring"
            raise KeyStateError(msg)
        if key["status"] != RETIRING:
            msg = f"key {kid!r} is {key['status']}: only a retiring key can be retired"
            raise KeyStateError(msg)

    @event("KeyRetired")
    def retire(self, kid: str) -> None:
        self.keys[kid]["status"] = RETIRED

    def _add(
        self, kid: str, public_jwk: dict[str, Any], private_sealed: str, added_at: str
    ) -> None:
        self.keys[kid] = {
            "kid": kid,
            "status": ACTIVE,
            "public_jwk": public_jwk,
            "private_sealed": private_sealed,
            "added_at": added_at,
        }

    @property
    def active_kid(self) -> str:
        return next(kid for kid, key in self.keys.items() if key["status"] == ACTIVE)

    def published(self) -> list[dict[str, Any]]:
        """The public keys a JWKS shows: the active one first, then those retiring."""
        order = {ACTIVE: 0, RETIRING: 1}
        shown = [key for key in self.keys.values() if key["status"] in order]
        return [key["public_jwk"] for key in sorted(shown, key=lambda k: order[k["status"]])]
