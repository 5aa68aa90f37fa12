"""The delivery loop every outbound connector runs: under its own lease, open the
connector's log and a sender, and let `DeliveryScheduler` attempt what is due (attempt,
record the outcome, back off, dead-letter) until stopped.

A connector brings only what differs: the lease's name, the log its deliveries are
scheduled in, the sender (opened per lease, closed when the lease is lost or the loop
stops), the retry schedule, how long to idle, and (optionally) its scheduler class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, closing, contextmanager
from typing import Protocol, TypeVar

from connectors.deliveries import DeliveryScheduler, RetrySchedule, Send
from connectors.runner import DEFAULT_BACKOFF, Backoff, UpstreamLog, run_under_lease
from infra.lease import DEFAULT_TTL, Lease

OpenSender = Callable[[], AbstractContextManager[Send]]
Schedulers = Callable[..., DeliveryScheduler]
"""`DeliveryScheduler` or a subclass (with its own options bound), called with the same
arguments."""


class _Closable(Protocol):
    def close(self) -> None: ...


S = TypeVar("S", bound=_Closable)


@contextmanager
def sender_on_hub_log(env: Mapping[str, str], make: Callable[[UpstreamLog], S]) -> Iterator[S]:
    """An `open_sender` for a sender that reads the hub's log (its subscriptions or
    endpoints): the log opened, the sender made on it, both closed afterwards."""
    with closing(UpstreamLog("hub", env)) as hub, closing(make(hub)) as sender:
        yield sender


def run_delivery_loop(
    env: Mapping[str, str],
    stop: threading.Event,
    *,
    lease: str,
    log_name: str,
    open_sender: OpenSender,
    retry: RetrySchedule,
    idle_s: float = 1.0,
    lease_ttl: float = DEFAULT_TTL,
    owner: str | None = None,
    backoff: Backoff = DEFAULT_BACKOFF,
    scheduler: Schedulers = DeliveryScheduler,
) -> None:
    """Attempt the due deliveries of the `log_name` log while this process holds `lease`."""

    def work(held: Lease) -> bool:
        with closing(UpstreamLog(log_name, env)) as app, open_sender() as send:
            scheduler(app, send, retry=retry, idle_s=idle_s).run(stop, keep=held.keep)
        return True

    run_under_lease(
        lease,
        env,
        stop,
        work,
        lease_ttl=lease_ttl,
        owner=owner,
        backoff=backoff,
        transient=(ConnectionError,),
    )
