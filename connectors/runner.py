"""Running a connector: a process application following one or more logs, under a lease.

One runner per connector is active: it holds the NATS KV lease `connector.<name>`;
the others stand by and take over when it stops or dies. The active runner builds the
process application once, opens a read-only reader of each upstream log, and follows
each upstream from the process application's own tracking position for it, in one
thread per upstream. Every notification goes through `process_event` under the
application's `processing_lock`, so one policy runs at a time and the events it
records commit with the notification's tracking position (exactly-once effect).

What stops what:

- a transient failure (NATS unreachable, a subscription that ended, another runner
  having recorded first) ends the session: the lease is given up, and after a backoff
  the runner competes for it again and restarts from what is stored;
- any other exception out of a policy stops the connector, loudly: it is logged and
  raised, and the notification is not passed over (a restart meets it again).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.projection import ApplicationSubscription, EventSourcedProjection

from infra.errors import LeaseLostError, NatsUnavailableError
from infra.lease import DEFAULT_TTL, Lease, lease_for

log = structlog.get_logger(__name__)

Upstreams = Mapping[str, Application[Any]]
Build = Callable[[Mapping[str, str], Upstreams], EventSourcedProjection[Any]]
"""Makes the process application from the environment and the upstream readers."""

TRANSIENT: tuple[type[Exception], ...] = (NatsUnavailableError, nats.errors.Error, IntegrityError)
"""Errors after which a session restarts instead of the connector stopping.

IntegrityError: this runner's position or an aggregate moved on under it (another
runner recorded first while this one stalled); restarting re-reads both.
"""


class SubscriptionEndedError(NatsUnavailableError):
    """Raised when an upstream subscription ends while its runner is still active."""


class ConnectorFailedError(Exception):
    """Raised (from the policy's error, once logged) when a connector has to stop."""


class UpstreamLog(Application[str]):
    """A read-only view of application `name`'s log: notifications and aggregates."""

    def __init__(self, name: str, env: Mapping[str, str]) -> None:
        self.name = name  # before the library derives subjects and settings from it
        super().__init__(dict(env))


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: `initial`, doubling, at most `maximum` seconds."""

    initial: float = 0.5
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.maximum, self.initial * 2.0 ** max(0, failures - 1))


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class ProcessSpec:
    """A connector: its name (of its application and lease), how to build it, what it follows."""

    name: str
    build: Build
    upstreams: tuple[str, ...] = ("hub",)

    def run(self, env: dict[str, str], stop: threading.Event) -> None:
        """`run_process` for `connectors.registry`: a failure is logged, not raised."""
        try:
            run_process(self, env, stop)
        except ConnectorFailedError:
            pass  # logged with its traceback where it happened
        except Exception:
            log.exception("connector.crashed", connector=self.name)


def connector_lease(
    name: str, env: Mapping[str, str], *, owner: str | None = None, ttl: float = DEFAULT_TTL
) -> Lease:
    return lease_for(env, f"connector.{name}", owner=owner, ttl=ttl)


Work = Callable[[Lease], bool]
"""Runs while the lease is held (calling `lease.keep()` often) until stopped or overtaken;
returns whether it made progress (which resets the backoff)."""


def run_under_lease(
    name: str,
    env: Mapping[str, str],
    stop: threading.Event,
    work: Work,
    *,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    transient: tuple[type[Exception], ...] = (),
) -> None:
    """Do `work` whenever this process holds lease `connector.<name>`, until `stop` is set.

    Transient errors (NATS, conflicts, and `transient`) give the lease up (a healthier
    standby may take over meanwhile) and retry after a backoff; anything else is logged
    and raised as `ConnectorFailedError`.
    """
    lease = connector_lease(name, env, owner=owner, ttl=lease_ttl)
    bound = log.bind(connector=name, owner=lease.owner)
    failures = 0
    try:
        while not stop.is_set():
            wait = lease.refresh_interval
            try:
                if lease.try_acquire():
                    bound.info("connector.active")
                    if work(lease):
                        failures = 0
                    continue
            except LeaseLostError as error:
                bound.warning("connector.lease_lost", error=str(error))
            except (*TRANSIENT, *transient) as error:
                failures += 1
                wait = backoff.delay(failures)
                bound.warning(
                    "connector.restarting",
                    error=f"{type(error).__name__}: {error}",
                    retry_in_s=wait,
                )
                lease.release()
            except Exception as error:
                bound.exception("connector.failed", error=f"{type(error).__name__}: {error}")
                msg = f"connector {name} stopped: {type(error).__name__}: {error}"
                raise ConnectorFailedError(msg) from error
            stop.wait(wait)
    finally:
        lease.release()
        bound.info("connector.stopped")


def run_process(
    spec: ProcessSpec,
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Run connector `spec` until `stop` is set, in this thread.

    `env` is the applications' eventsourcing environment (`hub.bootstrap.eventsourcing_env`).
    Raises `ConnectorFailedError` (from what a policy raised, logged) when it has to stop.
    """

    def work(lease: Lease) -> bool:
        session = _Session(spec, env, lease, stop)
        session.run()
        return session.processed > 0

    run_under_lease(spec.name, env, stop, work, lease_ttl=lease_ttl, owner=owner, backoff=backoff)


@dataclass
class _Session:
    """The active runner's work, from taking the lease until stopped, failed or overtaken."""

    spec: ProcessSpec
    env: Mapping[str, str]
    lease: Lease
    stop: threading.Event
    processed: int = 0
    _ended: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        upstreams = {name: UpstreamLog(name, self.env) for name in self.spec.upstreams}
        followers: list[_Follower] = []
        app: EventSourcedProjection[Any] | None = None
        try:
            app = self.spec.build(self.env, upstreams)
            for upstream in upstreams.values():
                followers.append(_Follower(app, upstream, self))
            for follower in followers:
                follower.start()
            while not self.stop.is_set() and not self._ended.is_set():
                self._ended.wait(self.lease.refresh_interval / 2)
                self.lease.keep()
        finally:
            for follower in followers:
                follower.stop()
            for follower in followers:
                if follower.ident is not None:  # started
                    follower.join()
            if app is not None:
                app.close()
            for upstream in upstreams.values():
                upstream.close()
        for follower in followers:
            if follower.error is not None:
                raise follower.error
        if not self.stop.is_set() and followers:
            raise SubscriptionEndedError("a subscription to an upstream log ended")

    def count(self) -> None:
        self.processed += 1

    def end(self) -> None:
        self._ended.set()


class _Follower(threading.Thread):
    """Feeds one upstream's notifications to the process application, in order."""

    def __init__(
        self, app: EventSourcedProjection[Any], upstream: Application[Any], session: _Session
    ) -> None:
        super().__init__(name=f"connector-{app.name}-{upstream.name}", daemon=True)
        self.app = app
        self.session = session
        self.error: BaseException | None = None
        self.subscription: ApplicationSubscription[Any] = ApplicationSubscription(
            upstream, gt=app.recorder.max_tracking_id(upstream.name), topics=app.topics
        )

    def run(self) -> None:
        try:
            for domain_event, tracking in self.subscription:
                with self.app.processing_lock:
                    self.app.process_event(domain_event, tracking)
                self.session.count()
        except BaseException as error:  # noqa: BLE001 - handed to the session's thread
            self.error = error
        finally:
            self.session.end()

    def stop(self) -> None:
        self.subscription.stop()


def logged(
    run: Callable[[Mapping[str, str], threading.Event], None], name: str
) -> Callable[[dict[str, str], threading.Event], None]:
    """`run` for `connectors.registry`: a failure is logged, not raised."""

    def run_logged(env: dict[str, str], stop: threading.Event) -> None:
        try:
            run(env, stop)
        except ConnectorFailedError:
            pass  # logged where it happened
        except Exception:
            log.exception("connector.crashed", connector=name)

    return run_logged
