"""Work that one process at a time does: held under a NATS KV lease, restarted after failures.

`connectors.runner` does this for process applications following logs; this is the
same discipline for loops that are not (the delivery scheduler, the daily course sync).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

import structlog

from connectors.runner import TRANSIENT, Backoff, connector_lease
from infra.errors import LeaseLostError
from infra.lease import DEFAULT_TTL, Lease

DEFAULT_BACKOFF = Backoff()
log = structlog.get_logger(__name__)

Work = Callable[[Lease], None]
"""Runs while the lease is held, calling `lease.keep()` often; returns when stopped."""


class WorkFailedError(Exception):
    """Raised (from the work's error, once logged) when leased work has to stop."""


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

    Transient errors (NATS, conflicts, and `transient`) give the lease up and retry after a
    backoff; anything else is logged and raised as `WorkFailedError`.
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
                    work(lease)
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
                msg = f"{name} stopped: {type(error).__name__}: {error}"
                raise WorkFailedError(msg) from error
            stop.wait(wait)
    finally:
        lease.release()
        bound.info("connector.stopped")
