"""Webhook rate limits per partner: a 429 with Retry-After and RateLimit headers, audited."""

from __future__ import annotations

import httpx

from hub.bootstrap import Runtime
from hub.spark.ratelimit import SlidingWindowLimiter
from tests.hub.spark.checks import assert_rejected, before
from tests.hub.spark.conftest import connect
from tests.hub.spark.signals import post_signed


def roster(course: str) -> dict[str, str]:
    return {"spark_user_id": "u1", "spark_course_id": course, "action": "enroll"}


def test_past_the_partner_s_limit_webhooks_get_a_429(
    client: httpx.Client, runtime: Runtime
) -> None:
    slow = connect(runtime, "slow", webhook_limit_per_minute=2)
    other = connect(runtime, "other", webhook_limit_per_minute=2)
    url = "/t/slow/spark/webhook/roster"
    first = post_signed(client, url, roster("c1"), slow.webhook_secret)
    second = post_signed(client, url, roster("c2"), slow.webhook_secret)
    assert [first.status_code, second.status_code] == [202, 202]
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    assert second.headers["ratelimit-remaining"] == "0"
    was = before(runtime)
    third = post_signed(client, url, roster("c3"), slow.webhook_secret)
    assert_rejected(third, runtime, was, status=429, reason="rate_limited", tenant="slow")
    assert third.headers["ratelimit-limit"] == "2"
    assert third.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(third.headers["retry-after"]) <= 60
    assert 1 <= int(third.headers["ratelimit-reset"]) <= 60
    # Another partner has a window of its own.
    elsewhere = post_signed(
        client, "/t/other/spark/webhook/roster", roster("c1"), other.webhook_secret
    )
    assert elsewhere.status_code == 202


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(clock=clock)
    key = ("acme", "spark")
    assert limiter.hit(key, 2).allowed
    clock.now += 30
    assert limiter.hit(key, 2).allowed
    refused = limiter.hit(key, 2)
    assert not refused.allowed
    assert refused.retry_after_s == 30
    clock.now += 30  # the first hit leaves the window
    allowed = limiter.hit(key, 2)
    assert allowed.allowed
    assert allowed.remaining == 0
    assert allowed.reset_s == 30


def test_a_lowered_limit_applies_at_once() -> None:
    limiter = SlidingWindowLimiter(clock=Clock())
    for _ in range(5):
        assert limiter.hit(("t", "spark"), 10).allowed
    assert not limiter.hit(("t", "spark"), 3).allowed
