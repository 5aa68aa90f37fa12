"""Per-tenant RS256 signing keys for LTI, and `GET /api/lti/jwks.json` that publishes them.

`LtiKeys(hub, box)` is the one way in: `signing_key(tenant)` (the active key, created on
first use), `public_jwks(tenant)` (active and retiring public keys), `rotate(tenant)` and
`retire(tenant, kid)`. The hub as platform signs id_tokens with it; the hub as tool signs
its client assertions and Deep Linking responses with the same keys.

Tools cache a platform's JWKS and pylti1p3 does not refetch on an unknown `kid`, so a
rotation publishes the new key at once and keeps the old one as `retiring` until an admin
retires it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from joserfc.jwk import RSAKey
from starlette.concurrency import run_in_threadpool

from hub.application import Hub
from hub.bootstrap import Runtime
from hub.domain.base import TENANT_SLUG
from hub.domain.lti_keys import LtiKeyRing, key_ring_id
from hub.http.problems import NOT_FOUND, SIGNAL_REJECTIONS, ProblemError, problem_responses
from infra.secrets import SecretBox

ALGORITHM = "RS256"
KEY_BITS = 2048
CACHE_TTL_S = 10.0
TENANT_HEADER = "X-Hub-Tenant"
JWKS_CACHE_CONTROL = "public, max-age=300"
OPENAPI_TAG = {
    "name": "lti",
    "description": "LTI 1.3 Advantage: keys, launches, AGS and NRPS (as platform and as tool).",
}


class UnknownTenantError(Exception):
    """Raised when keys are asked for a tenant that is not registered."""


@dataclass(frozen=True)
class SigningKey:
    """The tenant's active private key: sign with `key`, put `kid` in the JWT header."""

    kid: str
    key: RSAKey

    @property
    def header(self) -> dict[str, str]:
        return {"alg": ALGORITHM, "kid": self.kid, "typ": "JWT"}


@dataclass(frozen=True)
class _Loaded:
    at: float
    signing: SigningKey
    jwks: dict[str, Any]


def new_key_material(box: SecretBox, tenant: str) -> tuple[str, dict[str, Any], str]:
    """A fresh RSA key: its kid (RFC 7638 thumbprint), public JWK and sealed private JWK."""
    key = RSAKey.generate_key(KEY_BITS, parameters={"use": "sig", "alg": ALGORITHM})
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": ALGORITHM}
    sealed = box.encrypt(json.dumps(key.as_dict(private=True)), context=_seal_context(tenant, kid))
    return kid, public, sealed


def _seal_context(tenant: str, kid: str) -> str:
    return f"{tenant}:lti-key:{kid}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class LtiKeys:
    """The tenants' LTI key rings, read through a short cache (rotation shows within seconds)."""

    def __init__(self, hub: Hub, box: SecretBox, *, cache_ttl_s: float = CACHE_TTL_S) -> None:
        self._hub = hub
        self._box = box
        self._ttl = cache_ttl_s
        self._cache: dict[str, _Loaded] = {}
        self._lock = threading.Lock()

    def signing_key(self, tenant: str) -> SigningKey:
        """The tenant's active key (made and recorded on first use)."""
        return self._load(tenant).signing

    def public_jwks(self, tenant: str) -> dict[str, Any]:
        """`{"keys": [...]}`: the active public key first, then the retiring ones."""
        return self._load(tenant).jwks

    def rotate(self, tenant: str) -> str:
        """Make a new active key; the previous one starts retiring. Returns the new kid."""
        ring = self._ring(tenant, create=True)
        kid, public, sealed = new_key_material(self._box, tenant)
        ring.rotate(kid, public, sealed, _now_iso())
        self._hub.save(ring)
        self._forget(tenant)
        return kid

    def retire(self, tenant: str, kid: str) -> None:
        """Stop publishing a retiring key (raises `KeyStateError` for any other key)."""
        ring = self._ring(tenant, create=True)
        ring.check_retire(kid)
        ring.retire(kid)
        self._hub.save(ring)
        self._forget(tenant)

    def ring(self, tenant: str) -> LtiKeyRing:
        """The ring as recorded (made on first use), for admin listings."""
        return self._ring(tenant, create=True)

    def _forget(self, tenant: str) -> None:
        with self._lock:
            self._cache.pop(tenant, None)

    def _load(self, tenant: str) -> _Loaded:
        loaded = self._cache.get(tenant)
        if loaded is not None and time.monotonic() - loaded.at < self._ttl:
            return loaded
        ring = self._ring(tenant, create=True)
        kid = ring.active_kid
        private = self._box.decrypt(
            ring.keys[kid]["private_sealed"], context=_seal_context(tenant, kid)
        )
        loaded = _Loaded(
            at=time.monotonic(),
            signing=SigningKey(kid, RSAKey.import_key(json.loads(private))),
            jwks={"keys": ring.published()},
        )
        with self._lock:
            self._cache[tenant] = loaded
        return loaded

    def _ring(self, tenant: str, *, create: bool) -> LtiKeyRing:
        try:
            ring: LtiKeyRing = self._hub.repository.get(key_ring_id(tenant))
        except AggregateNotFoundError:
            if not create:
                raise
        else:
            return ring
        if self._hub.tenant(tenant) is None:
            msg = f"no tenant {tenant!r}"
            raise UnknownTenantError(msg)
        kid, public, sealed = new_key_material(self._box, tenant)
        ring = LtiKeyRing(tenant, kid, public, sealed, _now_iso())
        try:
            self._hub.save(ring)
        except IntegrityError:  # another request made it first: use theirs
            existing: LtiKeyRing = self._hub.repository.get(key_ring_id(tenant))
            return existing
        return ring


# -- GET /api/lti/jwks.json ----------------------------------------------------------------

router = APIRouter(tags=["lti"])
TenantQuery = Annotated[str | None, Query(alias="tenant", description="The tenant's slug.")]
TenantHeader = Annotated[str | None, Header(alias=TENANT_HEADER, description="The tenant's slug.")]


def install_lti_keys(app: FastAPI, runtime: Runtime) -> LtiKeys:
    """Put one `LtiKeys` on `app.state.lti_keys` and mount the JWKS routes (once per app:
    the platform and the tool both call it)."""
    existing: LtiKeys | None = getattr(app.state, "lti_keys", None)
    if existing is not None:
        return existing
    keys = LtiKeys(runtime.hub, runtime.box)
    app.state.lti_keys = keys
    if not any(tag["name"] == "lti" for tag in app.openapi_tags or []):
        app.openapi_tags = [*(app.openapi_tags or []), OPENAPI_TAG]
    app.include_router(router)
    return keys


def lti_keys(request: Request) -> LtiKeys:
    keys: LtiKeys = request.app.state.lti_keys
    return keys


@router.get(
    "/t/{tenant}/api/lti/jwks.json",
    responses=problem_responses(404),
    summary="The tenant's LTI public keys (tenant in the path)",
)
async def jwks_in_path(tenant: str, request: Request) -> JSONResponse:
    return await _jwks(request, tenant)


@router.get(
    "/api/lti/jwks.json",
    responses=problem_responses(400, 404),
    summary="The tenant's LTI public keys (tenant in ?tenant= or X-Hub-Tenant)",
)
async def jwks(
    request: Request, tenant: TenantQuery = None, x_hub_tenant: TenantHeader = None
) -> JSONResponse:
    return await _jwks(request, tenant or x_hub_tenant)


async def _jwks(request: Request, tenant: str | None) -> JSONResponse:
    if not tenant:
        raise ProblemError(
            SIGNAL_REJECTIONS["tenant_missing"],
            "name the tenant: /t/<tenant>/api/lti/jwks.json or ?tenant=<tenant>",
        )
    if not TENANT_SLUG.match(tenant):
        raise ProblemError(NOT_FOUND, f"no tenant {tenant[:40]!r}")
    keys = lti_keys(request)
    try:
        body = await run_in_threadpool(keys.public_jwks, tenant)
    except UnknownTenantError as error:
        raise ProblemError(NOT_FOUND, str(error)) from error
    return JSONResponse(body, headers={"Cache-Control": JWKS_CACHE_CONTROL})
