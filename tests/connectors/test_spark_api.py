"""The Spark API client against a real loopback server: parsing, errors, the rate limiter."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from connectors.spark_api import (
    SparkApi,
    SparkPermanentError,
    SparkRetryableError,
    TokenBucket,
    open_spark_api,
    parse_retry_after,
    spark_rate_limiter,
)
from hub.application import Hub
from infra.http import guarded_client
from infra.secrets import SecretBox
from schemas.spark import GradePassback
from tests.connectors.spark_fake import API_KEY, FakeSpark, connect_spark, serve

ESSAY = {
    "id": "a-1",
    "title": "Essay: How Plants Convert Sunlight",
    "description": "Write 500 words",
    "assignment_type": "essay",
    "estimated_hours": 3,
    "max_points": 100,
}


class FakeClock:
    """Time that moves only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.acquired_at: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake() -> FakeSpark:
    made = FakeSpark()
    made.add_course(
        "c-1",
        "Biology - Photosynthesis",
        [ESSAY],
        category="science",
        grade_level="9-12",
        duration_hours=20,
    )
    return made


@pytest.fixture
def spark_url(fake: FakeSpark) -> Iterator[str]:
    with serve(fake) as url:
        yield url


def client_for(
    url: str, *, key: str = API_KEY, limiter: TokenBucket | None = None, timeout: float = 5.0
) -> SparkApi:
    return SparkApi(
        base_url=url,
        api_key=key,
        client=guarded_client(allowed_hosts=["127.0.0.1"], timeout=httpx.Timeout(timeout)),
        limiter=limiter or spark_rate_limiter(),
    )


def test_lists_courses_and_assignments_with_the_bearer_key(spark_url: str) -> None:
    with client_for(spark_url) as api:
        courses = api.list_courses()
        assignments = api.list_assignments("c-1")
    assert [(c.id, c.title, c.assignments) for c in courses] == [
        ("c-1", "Biology - Photosynthesis", ["a-1"])
    ]
    assert [(a.id, a.assignment_type, a.estimated_hours) for a in assignments] == [
        ("a-1", "essay", 3.0)
    ]


def test_a_wrong_key_is_permanent(spark_url: str) -> None:
    with client_for(spark_url, key="wrong") as api, pytest.raises(SparkPermanentError) as caught:
        api.list_courses()
    assert caught.value.status_code == 401
    assert caught.value.request == "GET /api/courses"
    assert "wrong" not in str(caught.value)


def test_an_unknown_course_is_permanent(spark_url: str) -> None:
    with client_for(spark_url) as api, pytest.raises(SparkPermanentError) as caught:
        api.list_assignments("nope/../x")
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"), [(503, None, None), (500, None, None), (429, "7", 7.0)]
)
def test_5xx_and_429_are_retryable(
    fake: FakeSpark, spark_url: str, status: int, retry_after: str | None, expected: float | None
) -> None:
    fake.fail_grades(1, status, retry_after=retry_after)
    grade = GradePassback(
        spark_user_id="u-1",
        spark_assignment_id="a-1",
        score=9,
        max_score=10,
        completed_at=datetime(2025, 1, 15, tzinfo=UTC),
    )
    with client_for(spark_url) as api, pytest.raises(SparkRetryableError) as caught:
        api.post_grade(grade, "key-1")
    assert (caught.value.status_code, caught.value.retry_after) == (status, expected)


def test_other_4xx_is_permanent_and_a_grade_carries_its_idempotency_key(
    fake: FakeSpark, spark_url: str
) -> None:
    fake.fail_grades(1, 400)
    grade = GradePassback(
        spark_user_id="u-1",
        spark_assignment_id="a-1",
        score=9.5,
        max_score=10,
        completed_at=datetime(2025, 1, 15, tzinfo=UTC),
    )
    with client_for(spark_url) as api:
        with pytest.raises(SparkPermanentError) as caught:
            api.post_grade(grade, "key-1")
        assert caught.value.status_code == 400
        assert api.post_grade(grade, "key-1") == 200
    first, second = fake.grades()
    assert (first.status, second.status) == (400, 200)
    assert second.idempotency_key == "key-1"
    assert second.body == {
        "spark_user_id": "u-1",
        "spark_assignment_id": "a-1",
        "score": 9.5,
        "max_score": 10.0,
        "completed_at": "2025-01-15T00:00:00Z",
    }


def test_connection_refused_and_timeouts_are_retryable() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with client_for(f"http://127.0.0.1:{port}") as api, pytest.raises(SparkRetryableError):
        api.list_courses()
    # A server that accepts the connection (the backlog) and never answers: a read timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with client_for(url, timeout=0.2) as api, pytest.raises(SparkRetryableError) as caught:
            api.list_courses()
    assert "timed out" in caught.value.detail


def test_an_answer_of_the_wrong_shape_is_permanent(fake: FakeSpark, spark_url: str) -> None:
    fake.courses["bad"] = {"title": "no id"}
    with client_for(spark_url) as api, pytest.raises(SparkPermanentError) as caught:
        api.list_courses()
    assert "not the documented shape" in caught.value.detail


def test_the_api_host_passes_the_guard_only_when_the_tenant_allow_listed_it(
    spark_url: str, hub: Hub
) -> None:
    box = SecretBox.from_text("test")
    allowed = connect_spark(hub, box, "acme", spark_url)
    refused = connect_spark(hub, box, "beta", spark_url, allow_loopback=False)
    keyless = connect_spark(hub, box, "gamma", spark_url, api_key=None)
    with open_spark_api(allowed, box, limiter=spark_rate_limiter()) as api:
        assert len(api.list_courses()) == 1
    with (
        open_spark_api(refused, box, limiter=spark_rate_limiter()) as api,
        pytest.raises(SparkPermanentError) as caught,
    ):
        api.list_courses()
    assert "address guard" in caught.value.detail
    with pytest.raises(SparkPermanentError, match="cannot be unsealed"):
        open_spark_api(allowed, SecretBox.from_text("another hub"), limiter=spark_rate_limiter())
    with pytest.raises(SparkPermanentError, match="no API key yet"):
        open_spark_api(keyless, box, limiter=spark_rate_limiter())


def test_150_calls_wait_for_the_limiter_and_stay_under_100_a_minute(
    fake: FakeSpark, spark_url: str
) -> None:
    time = FakeClock()
    limiter = spark_rate_limiter(100, burst=10, clock=time.clock, sleep=time.sleep)
    moments: list[float] = []
    with client_for(spark_url, limiter=limiter) as api:
        for _ in range(150):
            api.list_courses()
            moments.append(time.now)
    assert len(fake.api_requests) == 150
    # 10 at once, then one every 60/90 s: 140 waits of 2/3 s.
    assert (limiter.calls, limiter.waits) == (150, 140)
    assert limiter.waited_s == pytest.approx(140 * 60 / 90)
    most_in_a_minute = max(sum(1 for m in moments if start <= m < start + 60) for start in moments)
    assert most_in_a_minute <= 100


def test_a_token_bucket_refills_with_time() -> None:
    time = FakeClock()
    bucket = TokenBucket(rate_per_s=2, capacity=2, clock=time.clock, sleep=time.sleep)
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0.5]
    time.now += 10  # idle: refilled to capacity, not beyond
    assert [bucket.acquire() for _ in range(3)] == [0, 0, 0.5]
    assert (bucket.calls, bucket.waits, bucket.waited_s) == (6, 2, 1.0)
    with pytest.raises(ValueError, match="positive rate"):
        TokenBucket(rate_per_s=0, capacity=1)
    with pytest.raises(ValueError, match="burst"):
        spark_rate_limiter(100, burst=100)


def test_retry_after_is_seconds_or_an_http_date() -> None:
    now = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30") == 30.0
    assert (
        parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now)
        == 90.0
    )
    assert (
        parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0.0
    )
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
