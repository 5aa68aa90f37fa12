"""Platforms' public keys, fetched from their JWKS URL and cached; refetched once on a new kid.

Platforms rotate (Canvas about monthly, three keys published): a `kid` we have not seen
makes one refetch, at most once per `min_refetch_s` per URL, so a stream of made-up
kids cannot make the hub hammer a platform. A JWKS that names one kid twice is
ambiguous and refused (fail closed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from hub.lti.tool.verify import ALGORITHM, LaunchRejectedError
from infra.http import guarded_client

DEFAULT_TTL_S = 3600.0
DEFAULT_MIN_REFETCH_S = 5.0
MAX_JWKS_BYTES = 256 * 1024

Fetch = Callable[[str, Iterable[str]], dict[str, Any]]


def fetch_jwks(url: str, allowed_hosts: Iterable[str]) -> dict[str, Any]:
    """GET the JWKS through the SSRF guard; raises `LaunchRejectedError` when unusable."""
    try:
        with guarded_client(allowed_hosts=allowed_hosts) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise LaunchRejectedError(
            "jwks_unavailable", f"the platform's JWKS could not be fetched: {error}"
        ) from error
    if response.status_code != 200 or len(response.content) > MAX_JWKS_BYTES:
        raise LaunchRejectedError(
            "jwks_unavailable", f"the platform's JWKS answered {response.status_code}"
        )
    try:
        body = response.json()
    except ValueError as error:
        raise LaunchRejectedError("jwks_unavailable", "the platform's JWKS is not JSON") from error
    if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
        raise LaunchRejectedError("jwks_unavailable", "the platform's JWKS has no keys list")
    return body


@dataclass(frozen=True)
class _Fetched:
    at: float
    keys: dict[str, RSAKey]
    ambiguous: frozenset[str]


def _index(body: dict[str, Any]) -> tuple[dict[str, RSAKey], frozenset[str]]:
    keys: dict[str, RSAKey] = {}
    seen: set[str] = set()
    ambiguous: set[str] = set()
    for item in body["keys"]:
        if not isinstance(item, dict) or item.get("kty") != "RSA":
            continue
        if item.get("alg") not in {None, ALGORITHM} or item.get("use") not in {None, "sig"}:
            continue
        kid = item.get("kid")
        if not isinstance(kid, str):
            continue
        if kid in seen:
            ambiguous.add(kid)
        seen.add(kid)
        try:
            keys[kid] = RSAKey.import_key({k: v for k, v in item.items() if k in {"kty", "n", "e"}})
        except (JoseError, ValueError, TypeError):
            continue
    return keys, frozenset(ambiguous)


class JwksCache:
    """Keys by JWKS URL and kid, shared by every launch of the process."""

    def __init__(
        self,
        fetch: Fetch = fetch_jwks,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        min_refetch_s: float = DEFAULT_MIN_REFETCH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl_s
        self._min_refetch = min_refetch_s
        self._clock = clock
        self._cache: dict[str, _Fetched] = {}
        self._lock = threading.Lock()

    def cached(self, url: str, kid: str) -> RSAKey | None:
        """The key if it is cached and fresh (no I/O: callable on the event loop)."""
        fetched = self._cache.get(url)
        if fetched is None or self._clock() - fetched.at >= self._ttl:
            return None
        if kid in fetched.ambiguous:
            return None
        return fetched.keys.get(kid)

    def key(self, url: str, kid: str, allowed_hosts: Iterable[str]) -> RSAKey:
        """The key for `kid`: from the cache, else after one refetch (blocking I/O)."""
        fetched = self._cache.get(url)
        now = self._clock()
        stale = fetched is None or now - fetched.at >= self._ttl
        unknown = fetched is not None and kid not in fetched.keys
        if stale or (unknown and now - fetched.at >= self._min_refetch):  # type: ignore[union-attr]
            keys, ambiguous = _index(self._fetch(url, allowed_hosts))
            fetched = _Fetched(self._clock(), keys, ambiguous)
            with self._lock:
                self._cache[url] = fetched
        assert fetched is not None
        if kid in fetched.ambiguous:
            raise LaunchRejectedError(
                "kid_ambiguous", "the platform's JWKS publishes that kid more than once"
            )
        found = fetched.keys.get(kid)
        if found is None:
            raise LaunchRejectedError(
                "kid_unknown", "the id_token's kid is not in the platform's JWKS"
            )
        return found

    def invalidate(self, url: str | None = None) -> None:
        """Forget one URL's keys (or all): the emergency switch of seed 003 §5.6."""
        with self._lock:
            if url is None:
                self._cache.clear()
            else:
                self._cache.pop(url, None)
