"""Readiness: pluggable checks of NATS, the database and projection lag, each bounded in time.

A check is a blocking callable: it returns details on success and raises on failure.
`Readiness.evaluate` runs them concurrently on worker threads and stops waiting for
any that takes longer than its bound, so `/readyz` answers quickly when NATS or the
database is down (an abandoned thread ends by itself through the check's own timeout).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from sqlalchemy import text

from infra.errors import NatsUnavailableError
from infra.jetstream.factory import wire_for
from infra.nats_client import NatsConnection

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from hub.bootstrap import Runtime

Check = Callable[[], dict[str, Any]]
# Each status is a mapping or a dataclass with name, position, head and lag (None: unknown).
ProjectionStatuses = Callable[[], Sequence[object]]
CHECK_TIMEOUT_S = 1.0


def no_projections() -> list[dict[str, Any]]:
    return []


def status_as_dict(status: object) -> dict[str, Any]:
    if isinstance(status, Mapping):
        return dict(status)
    if dataclasses.is_dataclass(status) and not isinstance(status, type):
        return dataclasses.asdict(status)
    msg = f"a projection status must be a mapping or a dataclass, not {type(status).__name__}"
    raise TypeError(msg)


def nats_check(connection: NatsConnection, *, timeout: float = CHECK_TIMEOUT_S) -> Check:
    """Connected, and JetStream answers an `$JS.API.INFO` request within `timeout`."""

    def check() -> dict[str, Any]:
        if not connection.is_connected:
            msg = "not connected (reconnecting)"
            raise NatsUnavailableError(msg)
        wire = wire_for(connection)
        info = connection.run(lambda: wire.api("INFO"), timeout=timeout)
        return {"connected": True, "streams": int(info.get("streams", 0))}

    return check


def database_check(engine: Engine) -> Check:
    """`SELECT 1` on the read-model database (its engine should set a connect timeout)."""

    def check() -> dict[str, Any]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return {"dialect": engine.dialect.name}

    return check


@dataclass(frozen=True)
class ReadinessReport:
    """What `/readyz` answers: the verdict and each check's outcome."""

    ready: bool
    checks: dict[str, Any]
    failures: list[str]


@dataclass
class Readiness:
    """The checks `/readyz` runs; build it in the composition root, pass fakes in tests."""

    nats: Check
    database: Check
    projections: ProjectionStatuses = no_projections
    timeout: float = field(default=CHECK_TIMEOUT_S * 1.5)

    async def evaluate(self) -> ReadinessReport:
        results: dict[str, Any] = {}

        async def run(name: str, check: Callable[[], Any]) -> None:
            results[name] = await _bounded(check, self.timeout)

        async with anyio.create_task_group() as group:
            group.start_soon(run, "nats", self.nats)
            group.start_soon(run, "database", self.database)
            group.start_soon(run, "projections", self._projection_statuses)
        return _report(results)

    def _projection_statuses(self) -> list[dict[str, Any]]:
        return [status_as_dict(status) for status in self.projections()]


async def _bounded(check: Callable[[], Any], timeout: float) -> tuple[Any, str | None, float]:
    """(result, failure reason or None, milliseconds); never waits longer than `timeout`."""
    started = time.perf_counter()
    reason: str | None = None
    result: Any = None
    with anyio.move_on_after(timeout) as scope:
        try:
            result = await anyio.to_thread.run_sync(check, abandon_on_cancel=True)
        except Exception as error:  # noqa: BLE001 - any failure means "not ready", said why
            reason = _reason(error)
    if scope.cancelled_caught:
        reason = f"no answer within {timeout:.1f}s"
    return result, reason, round((time.perf_counter() - started) * 1000, 2)


def _reason(error: Exception) -> str:
    # Our own errors say what is wrong without secrets; a driver's message may hold a
    # host or a URL, so only its type is shown.
    if isinstance(error, NatsUnavailableError):
        return str(error)
    return f"failed ({type(error).__name__})"


def _report(results: dict[str, Any]) -> ReadinessReport:
    checks: dict[str, Any] = {}
    failures: list[str] = []
    for name in ("nats", "database"):
        result, reason, elapsed = results[name]
        if reason is None:
            checks[name] = {"status": "ok", "duration_ms": elapsed, **result}
        else:
            checks[name] = {"status": "down", "duration_ms": elapsed, "error": reason}
            failures.append(f"{name}: {reason}")
    statuses, reason, _ = results["projections"]
    checks["projections"] = list(statuses or [])
    if reason is not None:
        failures.append(f"projections: {reason}")
    unknown = [str(s.get("name")) for s in checks["projections"] if s.get("lag") is None]
    if unknown:
        failures.append(f"projections: lag unknown for {', '.join(unknown)}")
    return ReadinessReport(ready=not failures, checks=checks, failures=failures)


def runtime_readiness(
    runtime: Runtime, engine: Engine, *, projections: ProjectionStatuses = no_projections
) -> Readiness:
    """The production checks: the runtime's NATS connection, `engine`, and `projections`."""
    connection = NatsConnection.shared(runtime.nats_url, timeout=runtime.settings.nats_timeout_s)
    return Readiness(
        nats=nats_check(connection), database=database_check(engine), projections=projections
    )
