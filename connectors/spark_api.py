"""The Spark API client: courses, assignments and grades, under Spark's rate limit.

Errors, by what the caller should do about them:

    SparkApiError                  base; `.request` says which call failed ("GET /api/courses")
     ├── SparkRetryableError       timeouts, connection errors, 5xx, 429; `.retry_after` (seconds)
     │                             when Spark sent `Retry-After`
     └── SparkPermanentError       other 4xx, an answer that is not the documented shape
          └── SparkConnectionUnusableError
                                   the hub's side: no API key set, a key that cannot be
                                   unsealed, an API host the SSRF guard refuses (not allow-listed)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Self, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import structlog
from cryptography.exceptions import InvalidTag
from eventsourcing.application import AggregateNotFoundError, Application
from pydantic import BaseModel, ValidationError

from hub.domain.spark import SparkConnection, spark_connection_id
from hub.spark.connection import API_KEY_PLACEHOLDER
from infra.http import BlockedAddressError, guarded_client
from infra.secrets import SecretBox
from infra.settings import Settings
from schemas.spark import (
    GradePassback,
    SparkAssignment,
    SparkAssignmentList,
    SparkCourse,
    SparkCourseList,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "SparkApi",
    "SparkApiError",
    "SparkClients",
    "SparkConnectionUnusableError",
    "SparkPermanentError",
    "SparkRetryableError",
    "TokenBucket",
    "api_key_context",
    "box_from_env",
    "open_spark_api",
    "parse_retry_after",
    "spark_connection",
    "spark_rate_limiter",
]

SPARK_LIMIT_PER_MINUTE = 100
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
log = structlog.get_logger(__name__)
_Model = TypeVar("_Model", bound=BaseModel)


class SparkApiError(Exception):
    """A call to the Spark API failed; `request` names it, `status_code` is Spark's answer."""

    def __init__(self, request: str, detail: str, *, status_code: int | None = None) -> None:
        super().__init__(f"{request}: {detail}")
        self.request = request
        self.detail = detail
        self.status_code = status_code


class SparkRetryableError(SparkApiError):
    """Worth trying again later (after `retry_after` seconds when Spark said so)."""

    def __init__(
        self,
        request: str,
        detail: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(request, detail, status_code=status_code)
        self.retry_after = retry_after


class SparkPermanentError(SparkApiError):
    """Trying again will not help until someone fixes the request, the key or the connection."""


class SparkConnectionUnusableError(SparkPermanentError):
    """The tenant's Spark connection cannot be used as configured; nothing reached Spark."""


def api_key_context(tenant: str) -> str:
    """The associated data the tenant's Spark API key is sealed with (as `connect_spark` does)."""
    return f"{tenant}:spark:api"


class TokenBucket:
    """A thread-safe token bucket; `acquire` sleeps when the bucket is empty.

    A bucket of `capacity` refilled at `rate_per_s` lets through at most
    `capacity + rate_per_s * T` calls in any window of T seconds. Callers reserve a
    token under the lock and sleep outside it, so concurrent callers queue fairly.
    `clock` and `sleep` are injectable: tests check the accounting, not wall time.
    """

    def __init__(
        self,
        *,
        rate_per_s: float,
        capacity: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or capacity < 1:
            msg = "a token bucket needs a positive rate and a capacity of at least 1"
            raise ValueError(msg)
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = capacity
        self._updated = clock()
        self.calls = 0
        self.waits = 0
        self.waited_s = 0.0

    def acquire(self) -> float:
        """Take one token, sleeping until it is there; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(
                self.capacity, self._tokens + (now - self._updated) * self.rate_per_s
            )
            self._updated = now
            self._tokens -= 1
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
            self.calls += 1
            if wait > 0:
                self.waits += 1
                self.waited_s += wait
        if wait > 0:
            self._sleep(wait)
        return wait


def spark_rate_limiter(
    limit_per_minute: int = SPARK_LIMIT_PER_MINUTE,
    *,
    burst: int = 10,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> TokenBucket:
    """A bucket that never exceeds `limit_per_minute` in any 60 s window: `burst` at once,
    the rest spread evenly (burst + refill over a minute = the limit)."""
    if not 1 <= burst < limit_per_minute:
        msg = "burst must be at least 1 and below the limit per minute"
        raise ValueError(msg)
    return TokenBucket(
        rate_per_s=(limit_per_minute - burst) / 60, capacity=burst, clock=clock, sleep=sleep
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


@dataclass
class SparkApi:
    """Calls one tenant's Spark API with its bearer key; every call takes a limiter token."""

    base_url: str
    api_key: str = field(repr=False)
    client: httpx.Client
    limiter: TokenBucket

    def list_courses(self) -> list[SparkCourse]:
        return self._get("/api/courses", SparkCourseList).courses

    def list_assignments(self, course_id: str) -> list[SparkAssignment]:
        path = f"/api/courses/{quote(course_id, safe='')}/assignments"
        return self._get(path, SparkAssignmentList).assignments

    def post_grade(self, grade: GradePassback, idempotency_key: str) -> int:
        """POST `{api_url}/grades`; Spark deduplicates on `Idempotency-Key`. Returns the status."""
        response = self._send(
            "POST",
            "/grades",
            json=grade.model_dump(mode="json"),
            headers={"Idempotency-Key": idempotency_key},
        )
        return response.status_code

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, path: str, model: type[_Model]) -> _Model:
        response = self._send("GET", path)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise SparkPermanentError(
                f"GET {path}",
                "the answer is not the documented shape: "
                f"{error.error_count()} error(s), first at "
                f"{_location(error)}",
                status_code=response.status_code,
            ) from error

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        request = f"{method} {path}"
        self.limiter.acquire()
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            **kwargs.pop("headers", {}),
        }
        started = time.perf_counter()
        try:
            response = self.client.request(method, self.base_url + path, headers=headers, **kwargs)
        except BlockedAddressError as error:
            raise SparkConnectionUnusableError(
                request, f"refused by the address guard: {error}"
            ) from error
        except httpx.TimeoutException as error:
            raise SparkRetryableError(request, f"timed out ({type(error).__name__})") from error
        except httpx.TransportError as error:
            raise SparkRetryableError(request, f"cannot reach Spark: {error}") from error
        log.debug(
            "spark_api.call",
            request=request,
            status=response.status_code,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        _raise_for_status(request, response)
        return response


def _raise_for_status(request: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = f"Spark answered {status} {response.reason_phrase}".rstrip()
    if status == 429 or status >= 500:
        raise SparkRetryableError(
            request,
            detail,
            status_code=status,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    raise SparkPermanentError(request, detail, status_code=status)


def _location(error: ValidationError) -> str:
    first = error.errors()[0]
    return ".".join(str(part) for part in first.get("loc", ())) or "the top level"


class SparkClients:
    """Opens Spark API clients; one limiter per tenant and API URL, shared by all it opens.

    Build one per process (the HTTP app, a connector), so that course syncs and grade
    passback of one tenant share Spark's budget instead of each spending all of it.
    """

    def __init__(
        self,
        box: SecretBox,
        *,
        limit_per_minute: int = SPARK_LIMIT_PER_MINUTE,
        burst: int = 10,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.box = box
        self.limit_per_minute = limit_per_minute
        self.burst = burst
        self.timeout = timeout
        self._limiters: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def limiter(self, tenant: str, api_url: str) -> TokenBucket:
        with self._lock:
            key = (tenant, api_url)
            if key not in self._limiters:
                self._limiters[key] = spark_rate_limiter(self.limit_per_minute, burst=self.burst)
            return self._limiters[key]

    def open(self, connection: SparkConnection) -> SparkApi:
        limiter = self.limiter(connection.tenant, connection.api_url)
        return open_spark_api(connection, self.box, limiter=limiter, timeout=self.timeout)


def box_from_env(env: Mapping[str, str]) -> SecretBox:
    """The hub's secret box for a connector: `HUB_SECRET_KEY`, else the key file in the data
    folder (`HUB_DATA_DIR` of the applications' environment). Never makes a new key: one
    made here could not open what the hub sealed."""
    data_dir = env.get("HUB_DATA_DIR")
    settings = Settings(data_dir=Path(data_dir)) if data_dir else Settings()
    if settings.secret_key is not None:
        return SecretBox.from_text(settings.secret_key.get_secret_value())
    path = settings.data_dir / "secret.key"
    if not path.exists():
        msg = f"the hub's secret key is not at {path}: set HUB_SECRET_KEY or HUB_DATA_DIR"
        raise OSError(msg)
    return SecretBox.from_text(path.read_text().strip())


def spark_connection(hub: Application[str], tenant: str) -> SparkConnection | None:
    """The tenant's Spark connection as the hub recorded it, if it has one."""
    try:
        found: SparkConnection = hub.repository.get(spark_connection_id(tenant))
    except AggregateNotFoundError:
        return None
    return found


def open_spark_api(
    connection: SparkConnection,
    box: SecretBox,
    *,
    limiter: TokenBucket,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> SparkApi:
    """A client for `connection`: its key unsealed, its host allowed past the SSRF guard only
    when the tenant allow-listed that host explicitly."""
    try:
        api_key = box.decrypt(connection.api_key_sealed, context=api_key_context(connection.tenant))
    except (InvalidTag, ValueError) as error:
        msg = "the Spark API key cannot be unsealed with this hub's secret key"
        raise SparkConnectionUnusableError("unseal api key", msg) from error
    if api_key == API_KEY_PLACEHOLDER:
        msg = "the tenant's Spark connection has no API key yet; connect it with --api-key"
        raise SparkConnectionUnusableError("unseal api key", msg)
    host = (urlsplit(connection.api_url).hostname or "").lower()
    allowed = [host] if host in {h.lower() for h in connection.allowed_evidence_hosts} else []
    client = guarded_client(allowed_hosts=allowed, timeout=timeout)
    return SparkApi(
        base_url=connection.api_url.rstrip("/"), api_key=api_key, client=client, limiter=limiter
    )
