"""The platforms' key cache: one refetch on an unknown kid, a floor between refetches."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from hub.lti.tool.jwks import JwksCache
from hub.lti.tool.verify import LaunchRejectedError
from tests.lti.tool.platform_server import new_key

URL = "https://lms.example/jwks"


class Published:
    """A platform's JWKS document, counting how often it is fetched."""

    def __init__(self, *kids: str) -> None:
        self.keys = {kid: new_key() for kid in kids}
        self.fetches = 0
        self.duplicate: str | None = None

    def __call__(self, url: str, allowed_hosts: Iterable[str]) -> dict[str, Any]:
        self.fetches += 1
        keys = [
            {**key.as_dict(private=False), "kid": kid, "alg": "RS256", "use": "sig"}
            for kid, key in self.keys.items()
        ]
        if self.duplicate:
            keys.append({**self.keys[self.duplicate].as_dict(private=False), "kid": self.duplicate})
        return {"keys": keys}


def test_a_known_kid_is_served_from_the_cache() -> None:
    published = Published("a")
    cache = JwksCache(published)

    cache.key(URL, "a", ())
    cache.key(URL, "a", ())

    assert published.fetches == 1
    assert cache.cached(URL, "a") is not None


def test_an_unknown_kid_refetches_once_and_finds_a_rotated_key() -> None:
    now = [0.0]
    published = Published("a")
    cache = JwksCache(published, min_refetch_s=5, clock=lambda: now[0])
    cache.key(URL, "a", ())
    published.keys["b"] = new_key()
    now[0] = 6.0

    assert cache.key(URL, "b", ()) is not None
    assert published.fetches == 2


def test_unknown_kids_within_the_floor_do_not_refetch() -> None:
    now = [0.0]
    published = Published("a")
    cache = JwksCache(published, min_refetch_s=5, clock=lambda: now[0])
    cache.key(URL, "a", ())
    now[0] = 1.0

    for kid in ("x", "y", "z"):
        with pytest.raises(LaunchRejectedError) as refused:
            cache.key(URL, kid, ())
        assert refused.value.reason == "kid_unknown"

    assert published.fetches == 1


def test_a_kid_published_twice_is_refused() -> None:
    published = Published("a")
    published.duplicate = "a"
    cache = JwksCache(published)

    with pytest.raises(LaunchRejectedError) as refused:
        cache.key(URL, "a", ())

    assert refused.value.reason == "kid_ambiguous"


def test_keys_expire_after_their_ttl() -> None:
    now = [0.0]
    published = Published("a")
    cache = JwksCache(published, ttl_s=60, clock=lambda: now[0])
    cache.key(URL, "a", ())
    now[0] = 61.0

    assert cache.cached(URL, "a") is None
    cache.key(URL, "a", ())
    assert published.fetches == 2
