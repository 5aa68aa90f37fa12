"""Running the Caliper delivery loops in tests, and what they need: envelopes, quick settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from connectors.caliper_delivery import (
    CONNECTOR,
    CaliperDeliverySettings,
    DeliveryLog,
    run_batcher,
    run_sender,
)
from connectors.caliper_stream import CaliperStream, envelope_for
from connectors.deliveries import load_index
from connectors.runner import Backoff
from hub.application import Hub
from hub.caliper.iris import Iris, application, caliper_event_id
from hub.domain.deliveries import RETRYING
from schemas.caliper import CaliperEvent, Person
from tests.caliper.world import TENANT, now, tenant
from tests.connectors.world import wait_for

SCHEDULE = (0.05, 0.1, 0.15, 0.2)
TOKEN = "caliper-bearer-0123456789"


def fast(**overrides: Any) -> CaliperDeliverySettings:
    values: dict[str, Any] = {
        "retry_schedule_s": ",".join(map(str, SCHEDULE)),
        "batch_size": 10,
        "timeout_s": 0.3,
        "idle_s": 0.02,
        **overrides,
    }
    return CaliperDeliverySettings(**values)


def publish(stream: CaliperStream, count: int, *, slug: str = TENANT, start: int = 0) -> list[str]:
    """`count` valid SessionEvents of `slug` straight onto the stream; their ids."""
    iris = Iris(slug)
    hub = application(iris, "hub")
    envelopes, ids = [], []
    for n in range(start, start + count):
        event = CaliperEvent(
            id=caliper_event_id(slug, f"test@{n}", "SessionEvent.LoggedIn"),
            type="SessionEvent",
            action="LoggedIn",
            actor=Person(id=f"{iris.base}:person:{n}"),
            object=hub,
            eventTime=now(),
            edApp=hub,
        ).to_json()
        envelopes.append(envelope_for(iris.sensor(), event).to_json())
        ids.append(event["id"])
    stream.publish(slug, envelopes)
    return ids


class Loop:
    """A connector loop in a thread; `stop()` ends it and re-raises what it raised."""

    def __init__(self, run: Callable[..., None], env: Mapping[str, str], **options: Any) -> None:
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

        def target() -> None:
            try:
                run(
                    env,
                    self.stop_event,
                    lease_ttl=1.5,
                    backoff=Backoff(initial=0.01, maximum=0.1),
                    **options,
                )
            except BaseException as error:  # noqa: BLE001 - handed to the test's thread
                self.error = error

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the loop did not stop"
        if self.error is not None:
            raise self.error


@contextmanager
def delivering(
    env: Mapping[str, str], settings: CaliperDeliverySettings | None = None
) -> Iterator[None]:
    config = settings or fast()
    loops = [Loop(run_batcher, env, settings=config), Loop(run_sender, env, settings=config)]
    try:
        yield
    finally:
        for loop in loops:
            loop.stop()


def deliveries(env: Mapping[str, str]) -> list[Any]:
    with DeliveryLog(env) as app:
        return [e for e in load_index(app).entries() if e.connector == CONNECTOR]


def settled(env: Mapping[str, str], events: int, status: str) -> list[Any]:
    """Waits until deliveries with `status` hold `events` events and none is pending;
    returns those deliveries (how many depends on how the envelopes arrived: batches are
    cut from what has arrived, at most `batch_size` each)."""

    def check() -> list[Any] | None:
        found = deliveries(env)
        done = [d for d in found if d.status == status]
        pending = [d for d in found if d.status == RETRYING]
        held = sum(event_count(env, d.id) for d in done)
        return done if held >= events and not pending else None

    return wait_for(check, f"{events} events in deliveries {status}")


def event_count(env: Mapping[str, str], delivery_id: str) -> int:
    with DeliveryLog(env) as app:
        return int(app.repository.get(delivery_id).payload["count"])


def connect(hub: Hub, url: str, slug: str = TENANT, **config: Any) -> None:
    """A tenant whose envelopes go to `url` (loopback allowed) with the bearer `TOKEN`."""
    tenant(
        hub,
        slug,
        endpoint_url=url,
        bearer_token=TOKEN,
        allowed_hosts=("127.0.0.1",),
        **config,
    )
