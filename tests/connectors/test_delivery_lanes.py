"""`LanedScheduler` on an in-memory log: lanes side by side, one attempt at a time per lane."""

from __future__ import annotations

import threading
from collections import Counter

from eventsourcing.application import Application

from connectors.deliveries import AttemptResult, load_index
from connectors.delivery_lanes import LanedScheduler
from hub.domain.deliveries import DELIVERED, Delivery
from tests.connectors.world import wait_for


def schedule(app: Application[str], lane: str, count: int) -> list[str]:
    made = [
        Delivery(
            tenant="acme",
            connector="test",
            key=f"{lane}/{n}",
            target=f"https://{lane}.example.org/",
            payload={"lane": lane, "n": n},
            caused_by="test",
        )
        for n in range(count)
    ]
    app.save(*made)
    return [d.id for d in made]


class Sender:
    """Holds lane "slow" until released; counts what is in flight per lane."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.sent: list[str] = []

    def __call__(self, delivery: Delivery) -> AttemptResult:
        lane = str(delivery.payload["lane"])
        with self.lock:
            self.in_flight[lane] += 1
            self.most[lane] = max(self.most[lane], self.in_flight[lane])
        if lane == "slow":
            self.release.wait(timeout=30)
        with self.lock:
            self.in_flight[lane] -= 1
            self.sent.append(delivery.id)
        return AttemptResult(True, 200)


def test_a_held_lane_waits_alone_and_each_lane_sends_one_at_a_time() -> None:
    app: Application[str] = Application()
    slow = schedule(app, "slow", 3)
    quick = schedule(app, "quick", 3)
    send = Sender()
    scheduler = LanedScheduler(app, send, workers=4, index=load_index(app))  # lanes by target
    stop = threading.Event()
    try:
        for _ in range(3):  # a round per delivery of a lane: one at a time each
            scheduler.attempt_due(stop)
            wait_for(lambda: not scheduler.in_flight() - set(slow), "the quick lane's attempt")
            scheduler.index = load_index(app)
        assert sorted(send.sent) == sorted(quick)  # while the slow lane is still held
        assert send.in_flight["slow"] == 1
        send.release.set()
        for _ in range(3):
            wait_for(lambda: not scheduler.in_flight(), "the slow lane's attempt")
            scheduler.index = load_index(app)
            scheduler.attempt_due(stop)
        wait_for(lambda: len(send.sent) == 6, "every delivery")
    finally:
        send.release.set()
        scheduler.finish()
    assert send.most == Counter({"slow": 1, "quick": 1})
    assert {app.repository.get(i).status for i in slow + quick} == {DELIVERED}
