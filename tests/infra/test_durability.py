"""The event store's guarantees, against a real nats-server that is raced, killed and restarted.

Where a test kills the server it starts its own (`EmbeddedNatsServer(tmp_path)`) and its
own `NatsConnection`s, never the session's shared ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    StoredEvent,
    Subscription,
    Tracking,
)
from eventsourcing.utils import Environment

from hub.application import Hub
from hub.domain.tenants import Tenant
from infra.errors import NatsUnavailableError
from infra.jetstream import JetStreamFactory
from infra.jetstream.factory import ensure_streams, wire_for
from infra.jetstream.recorders import (
    H_TRACK_ID,
    JetStreamApplicationRecorder,
    JetStreamProcessRecorder,
)
from infra.jetstream.subjects import Subjects
from infra.jetstream.wire import AckLostError, OutMsg, StoredMsg, Wire
from infra.nats_client import NatsConnection
from infra.nats_server import EmbeddedNatsServer
from infra.secrets import SecretBox
from tests.conftest import new_prefix

TOPIC = "tests:Event"


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll `predicate` until it holds; fail (not hang) if it does not within `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}")
        time.sleep(0.02)


def event(originator_id: UUID | str, version: int, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(originator_id, version, TOPIC, state)


def app_recorder(
    connection: NatsConnection, prefix: str, app: str = "app"
) -> JetStreamApplicationRecorder:
    ensure_streams(connection, prefix)
    return JetStreamApplicationRecorder(connection, Subjects(prefix=prefix, app=app))


def stream_messages(
    connection: NatsConnection, recorder: JetStreamApplicationRecorder, subject: str | None = None
) -> list[StoredMsg]:
    """Everything the stream holds on `subject` (default: the application's events)."""
    wire = wire_for(connection)
    wanted = subject or recorder.subjects.app_events
    result: list[StoredMsg] = connection.run(
        lambda: wire.direct_all(recorder.stream, subject=wanted), timeout=10
    )
    return result


class ServerUnderTest:
    """A server of the test's own: killed with SIGKILL, restarted on the same port and data."""

    def __init__(self, data_dir: Path) -> None:
        self.current = EmbeddedNatsServer(data_dir)
        self.current.start()

    @property
    def url(self) -> str:
        return self.current.url

    def kill(self) -> None:
        self.current.kill()

    def restart(self) -> None:
        self.current = EmbeddedNatsServer(self.current.data_dir, port=self.current.port)
        self.current.start()

    def stop(self) -> None:
        self.current.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerUnderTest]:
    under_test = ServerUnderTest(tmp_path / "nats")
    yield under_test
    under_test.stop()


@pytest.fixture
def connections() -> Iterator[Callable[[str], NatsConnection]]:
    """Make NatsConnections of the test's own (short timeout); all closed after the test."""
    made: list[NatsConnection] = []

    def connect(url: str) -> NatsConnection:
        connection = NatsConnection(url, timeout=1.0)
        made.append(connection)
        return connection

    yield connect
    for connection in made:
        connection.close()


def run_bounded(call: Callable[[], Any], bound: float = 60.0) -> Any:
    """Run `call` in a thread and return what it returned (or raise what it raised).

    The bound only keeps a hang from hanging the suite: it is not what the tests assert.
    """
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=bound)
    finally:
        pool.shutdown(wait=False)


# -- two writers racing on one aggregate ----------------------------------------------------


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Start `calls` together (a barrier) in threads; their results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - collected, asserted by the caller
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    return results


def test_two_writers_race_on_one_aggregate_exactly_one_wins(
    nats_url: str, stream_prefix: str, connections: Callable[[str], NatsConnection]
) -> None:
    # Two "processes": separate connections, separate recorders (separate caches).
    conn_a, conn_b = connections(nats_url), connections(nats_url)
    writer_a, writer_b = app_recorder(conn_a, stream_prefix), app_recorder(conn_b, stream_prefix)
    rounds = 60
    expected: list[tuple[UUID, int, bytes]] = []
    for number in range(rounds):
        aggregate = uuid4()
        first = writer_a.insert_events([event(aggregate, 1, b"created")])
        expected.append((aggregate, 1, b"created"))
        if number % 2:  # half the rounds: both writers have read the aggregate (warm caches)
            writer_a.select_events(aggregate)
            writer_b.select_events(aggregate)
        results = race(
            lambda a=aggregate: writer_a.insert_events([event(a, 2, b"a")]),
            lambda a=aggregate: writer_b.insert_events([event(a, 2, b"b")]),
        )
        winners = [
            (name, r) for name, r in zip("ab", results, strict=True) if not isinstance(r, Exception)
        ]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, f"round {number}: {results}"
        assert len(losers) == 1
        assert isinstance(losers[0], IntegrityError), repr(losers[0])
        name, ids = winners[0]
        assert list(ids) == [first[0] + 1]  # the winner's notification id is the next one
        stored = writer_b.select_events(aggregate)
        assert [(e.originator_version, e.state) for e in stored] == [
            (1, b"created"),
            (2, name.encode()),
        ]
        expected.append((aggregate, 2, name.encode()))

    # Nothing lost or doubled in the whole log: one notification per successful write.
    log = writer_a.select_notifications(start=1, limit=10 * rounds)
    assert [n.id for n in log] == list(range(1, 2 * rounds + 1))
    assert [(n.originator_id, n.originator_version, n.state) for n in log] == expected


def test_two_atomic_batches_race_exactly_one_lands_whole(
    nats_url: str, stream_prefix: str, connections: Callable[[str], NatsConnection]
) -> None:
    conn_a, conn_b = connections(nats_url), connections(nats_url)
    writer_a, writer_b = app_recorder(conn_a, stream_prefix), app_recorder(conn_b, stream_prefix)
    for number in range(25):
        shared = uuid4()
        writer_a.insert_events([event(shared, 1)])
        own = {"a": uuid4(), "b": uuid4()}
        commits = {
            name: [event(shared, 2, name.encode()), event(own[name], 1, name.encode())]
            for name in own
        }
        results = race(
            lambda c=commits["a"]: writer_a.insert_events(c),
            lambda c=commits["b"]: writer_b.insert_events(c),
        )
        winners = [n for n, r in zip("ab", results, strict=True) if not isinstance(r, Exception)]
        assert len(winners) == 1, f"round {number}: {results}"
        errors = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(r, IntegrityError) for r in errors), results
        winner = winners[0]
        loser = "b" if winner == "a" else "a"
        assert [e.state for e in writer_a.select_events(shared)] == [b"{}", winner.encode()]
        assert len(writer_a.select_events(own[winner])) == 1
        assert writer_a.select_events(own[loser]) == []  # all or nothing
    log = writer_a.select_notifications(start=1, limit=1000)
    assert [n.id for n in log] == list(range(1, 25 * 3 + 1))


def test_two_hub_instances_race_on_one_tenant(nats_url: str, stream_prefix: str) -> None:
    env = {
        "PERSISTENCE_MODULE": "infra.jetstream",
        "NATS_URL": nats_url,
        "NATS_STREAM_PREFIX": stream_prefix,
    }
    box = SecretBox.from_text("race")
    hub_a, hub_b = Hub(env=env), Hub(env=env)
    for number in range(20):
        slug = f"school-{number}"
        hub_a.register_tenant(slug, "School", box)
        copy_a, copy_b = hub_a.tenant(slug), hub_b.tenant(slug)
        assert copy_a is not None
        assert copy_b is not None
        copy_a.trigger_event(Tenant.Event)
        copy_b.trigger_event(Tenant.Event)
        results = race(lambda c=copy_a: hub_a.save(c), lambda c=copy_b: hub_b.save(c))
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1, f"round {number}: {results}"
        assert isinstance(errors[0], IntegrityError)
        assert [e.originator_version for e in hub_b.events.get(copy_a.id)] == [1, 2]
    hub_a.close()
    hub_b.close()


# -- kill -9 -------------------------------------------------------------------------------


def test_acknowledged_commits_survive_kill_9(
    server: ServerUnderTest, connections: Callable[[str], NatsConnection]
) -> None:
    prefix = new_prefix()
    writer = app_recorder(connections(server.url), prefix)
    expected: list[tuple[int, UUID, int, bytes]] = []  # (notification id, id, version, state)
    aggregates = [uuid4() for _ in range(20)]
    versions = dict.fromkeys(aggregates, 0)
    for cycle in range(3):
        for number in range(150):
            batch = [
                aggregates[(number + k) % len(aggregates)]
                for k in range(3 if number % 10 == 0 else 1)
            ]
            events = []
            for aggregate in batch:
                versions[aggregate] += 1
                events.append(event(aggregate, versions[aggregate], f"{cycle}:{number}".encode()))
            ids = writer.insert_events(events)  # acknowledged
            assert ids is not None
            expected.extend(
                (i, e.originator_id, e.originator_version, e.state)  # type: ignore[misc]
                for i, e in zip(ids, events, strict=True)
            )
        server.kill()  # right after the last acknowledgement
        server.restart()
        # A new process reads everything back, in order.
        reader = app_recorder(connections(server.url), prefix)
        log = reader.select_notifications(start=1, limit=10_000)
        assert [(n.id, n.originator_id, n.originator_version, n.state) for n in log] == expected
        assert [n.id for n in log] == list(range(1, len(expected) + 1))
        assert reader.max_notification_id() == len(expected)
        for aggregate in aggregates:
            assert [e.originator_version for e in reader.select_events(aggregate)] == list(
                range(1, versions[aggregate] + 1)
            )
        # The old writer reconnects and carries on after the last sequence (none reused).
        wait_until(lambda: writer.connection.is_connected, "the writer reconnects")
        aggregate = aggregates[cycle]
        versions[aggregate] += 1
        more = event(aggregate, versions[aggregate], b"after restart")
        assert writer.insert_events([more]) == [len(expected) + 1]
        expected.append((len(expected) + 1, aggregate, versions[aggregate], more.state))


def test_kill_9_in_the_middle_of_writing_keeps_every_acknowledged_commit(
    server: ServerUnderTest, connections: Callable[[str], NatsConnection]
) -> None:
    """Writers run flat out; the server is killed under them. Every commit that was
    acknowledged is there after the restart, at the id it was given; what was not
    acknowledged may or may not be there (at most once)."""
    prefix = new_prefix()
    writers = [app_recorder(connections(server.url), prefix) for _ in range(4)]
    acknowledged: dict[int, tuple[UUID, int]] = {}
    attempted: set[tuple[UUID, int]] = set()
    lock = threading.Lock()
    enough = threading.Event()

    def write(recorder: JetStreamApplicationRecorder) -> None:
        for number in range(100_000):  # bounded: the kill ends it long before
            aggregate = uuid4()
            events = [event(aggregate, v) for v in range(1, 2 + number % 3)]
            with lock:
                attempted.update((aggregate, e.originator_version) for e in events)
            try:
                ids = recorder.insert_events(events)
            except NatsUnavailableError:
                return
            assert ids is not None
            with lock:
                acknowledged.update(
                    {i: (aggregate, e.originator_version) for i, e in zip(ids, events, strict=True)}
                )
                if len(acknowledged) >= 600:
                    enough.set()

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    wait_until(enough.is_set, "600 acknowledged events")
    server.kill()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    server.restart()

    reader = app_recorder(connections(server.url), prefix)
    log = reader.select_notifications(start=1, limit=100_000)
    stored = {n.id: (n.originator_id, n.originator_version) for n in log}
    for notification_id, written in acknowledged.items():
        assert stored.get(notification_id) == written
    assert [n.id for n in log] == list(range(1, len(log) + 1))  # no holes
    assert len(set(stored.values())) == len(stored)  # nothing twice
    assert set(stored.values()) <= attempted  # nothing invented


def all_threads_stopped(pid: int) -> bool:
    """SIGSTOP is delivered asynchronously: every thread of `pid` is in state T."""
    states = []
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):
            states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
    return bool(states) and all(state in "tT" for state in states)


def test_a_paused_server_fails_writes_and_stores_them_at_most_once(
    server: ServerUnderTest, connections: Callable[[str], NatsConnection]
) -> None:
    """SIGSTOP: the connection stays up but nothing answers. The write times out (outcome
    unknown: it may land when the server resumes) but is never stored twice."""
    prefix = new_prefix()
    connection = connections(server.url)
    writer = app_recorder(connection, prefix)
    single, batched = uuid4(), uuid4()
    writer.insert_events([event(single, 1)])
    process = server.current.process
    assert process is not None
    process.send_signal(signal.SIGSTOP)
    wait_until(lambda: all_threads_stopped(process.pid), "the server is stopped")
    try:
        with pytest.raises(NatsUnavailableError):
            run_bounded(lambda: writer.insert_events([event(single, 2)]))
        with pytest.raises(NatsUnavailableError):
            run_bounded(lambda: writer.insert_events([event(batched, 1), event(batched, 2)]))
        # Reads that get no answer are NATS being unavailable too (not a wire detail).
        with pytest.raises(NatsUnavailableError):
            run_bounded(lambda: writer.select_events(single))
        with pytest.raises(NatsUnavailableError):
            run_bounded(lambda: writer.select_notifications(start=1, limit=10))
        with pytest.raises(NatsUnavailableError):
            run_bounded(writer.max_notification_id)
    finally:
        process.send_signal(signal.SIGCONT)
    wait_until(lambda: connection.is_connected, "the connection is usable")
    # A fence on the same connection: the server handles one client's messages in order,
    # so once the fence is stored, whatever the timed-out writes sent has landed or never will.
    fence = uuid4()
    wait_until(lambda: _stored(writer, fence), "the fence is stored")
    reader = app_recorder(connections(server.url), prefix)
    log = [n for n in reader.select_notifications(start=1, limit=100) if n.originator_id != fence]
    versions = [(n.originator_id, n.originator_version) for n in log]
    assert len(versions) == len(set(versions))
    assert versions[0] == (single, 1)
    assert versions.count((batched, 1)) == versions.count((batched, 2))  # all or nothing
    # The writer carries on from whatever landed.
    next_version = max(v for a, v in versions if a == single) + 1
    assert writer.insert_events([event(single, next_version)]) == [len(log) + 2]


def _stored(recorder: ApplicationRecorder, fence: UUID) -> bool:
    try:
        recorder.insert_events([event(fence, 1)])
    except NatsUnavailableError:
        return False  # the connection was still recovering: try again
    except IntegrityError:
        pass  # an earlier try landed after all
    return True


# -- NATS down -----------------------------------------------------------------------------


def test_writes_fail_fast_while_nats_is_down_then_recover(
    server: ServerUnderTest, connections: Callable[[str], NatsConnection]
) -> None:
    prefix = new_prefix()
    connection = connections(server.url)
    writer = app_recorder(connection, prefix)
    first = uuid4()
    assert writer.insert_events([event(first, 1)]) == [1]

    server.kill()
    for version in (2, 3, 4):  # whether or not the client has noticed yet
        with pytest.raises(NatsUnavailableError):
            run_bounded(lambda v=version: writer.insert_events([event(first, v)]))
    with pytest.raises(NatsUnavailableError):
        run_bounded(lambda: writer.insert_events([event(uuid4(), 1), event(uuid4(), 1)]))
    with pytest.raises(NatsUnavailableError):
        run_bounded(lambda: writer.select_notifications(start=1, limit=10))
    with pytest.raises(NatsUnavailableError):
        run_bounded(lambda: writer.select_events(first))

    server.restart()
    wait_until(lambda: connection.is_connected, "the same connection reconnects by itself")
    # The same recorder writes again; none of the failed writes was stored.
    assert writer.insert_events([event(first, 2, b"after")]) == [2]
    log = writer.select_notifications(start=1, limit=10)
    assert [(n.id, n.originator_id, n.originator_version) for n in log] == [
        (1, first, 1),
        (2, first, 2),
    ]


def test_hub_fails_fast_while_nats_is_down_then_recovers(server: ServerUnderTest) -> None:
    env = {
        "PERSISTENCE_MODULE": "infra.jetstream",
        "NATS_URL": server.url,
        "NATS_STREAM_PREFIX": new_prefix(),
        "NATS_TIMEOUT": "1",
    }
    box = SecretBox.from_text("down")
    hub = Hub(env=env)
    connection = hub.recorder.connection  # type: ignore[attr-defined]
    try:
        hub.register_tenant("acme", "Acme", box)
        server.kill()
        with pytest.raises(NatsUnavailableError):
            run_bounded(lambda: hub.register_tenant("beta", "Beta", box))
        server.restart()
        wait_until(lambda: connection.is_connected, "the hub's connection reconnects")
        assert hub.register_tenant("beta", "Beta", box).position == 2
        assert hub.tenant("acme") is not None
    finally:
        hub.close()
        connection.close()


# -- lost acknowledgements -------------------------------------------------------------------


class AckLoss:
    """Patches Wire.publish and Wire.publish_batch: while `armed`, a call loses its ack.

    `store`: whether the server stored the message(s) before the ack was lost.
    `meanwhile`: run (on a worker thread, so not blocking this connection's loop) after
    the store and before the loss, e.g. another writer's commit.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.armed = 0
        self.store = True
        self.meanwhile: Callable[[], Any] | None = None
        original_publish, original_batch = Wire.publish, Wire.publish_batch
        loss = self

        async def lose(wire: Wire, call: Callable[[], Awaitable[Any]]) -> Any:
            if not loss.armed:
                return await call()
            loss.armed -= 1
            if loss.store:
                await call()
            if loss.meanwhile is not None:
                await asyncio.to_thread(loss.meanwhile)
            raise AckLostError("simulated: the acknowledgement was lost")

        async def publish(wire: Wire, msg: OutMsg) -> int:
            result: int = await lose(wire, lambda: original_publish(wire, msg))
            return result

        async def publish_batch(wire: Wire, msgs: Sequence[OutMsg]) -> list[int]:
            result: list[int] = await lose(wire, lambda: original_batch(wire, msgs))
            return result

        monkeypatch.setattr(Wire, "publish", publish)
        monkeypatch.setattr(Wire, "publish_batch", publish_batch)


@pytest.fixture
def loss(monkeypatch: pytest.MonkeyPatch) -> AckLoss:
    return AckLoss(monkeypatch)


def test_a_lost_ack_is_read_back_not_written_twice(
    nats_url: str, stream_prefix: str, loss: AckLoss
) -> None:
    connection = NatsConnection.shared(nats_url)
    writer = app_recorder(connection, stream_prefix)
    aggregate = uuid4()
    assert writer.insert_events([event(aggregate, 1)]) == [1]

    loss.armed = 1
    assert writer.insert_events([event(aggregate, 2, b"once")]) == [2]
    assert loss.armed == 0  # the loss really happened

    # An atomic batch whose ack is lost: read back, the right ids, stored once.
    other = uuid4()
    loss.armed = 1
    assert writer.insert_events([event(aggregate, 3), event(other, 1), event(other, 2)]) == [
        3,
        4,
        5,
    ]
    assert loss.armed == 0

    # A fresh recorder (cold caches) sees exactly one copy of each.
    reader = app_recorder(connection, stream_prefix)
    log = reader.select_notifications(start=1, limit=100)
    assert [(n.id, n.originator_id, n.originator_version) for n in log] == [
        (1, aggregate, 1),
        (2, aggregate, 2),
        (3, aggregate, 3),
        (4, other, 1),
        (5, other, 2),
    ]
    assert len(stream_messages(connection, reader)) == 5
    # And the writer carries on after them.
    assert writer.insert_events([event(aggregate, 4)]) == [6]


def test_a_lost_ack_whose_read_back_fails_too_is_not_written_twice(
    nats_url: str, stream_prefix: str, loss: AckLoss, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ack is lost and so is the read-back: the retry must find the first attempt."""
    connection = NatsConnection.shared(nats_url)
    writer = app_recorder(connection, stream_prefix)
    original = JetStreamApplicationRecorder._read_back_or_none
    failed: list[int] = []

    def read_back_fails_once(self: Any, msgs: list[OutMsg]) -> list[int] | None:
        if not failed:
            failed.append(1)
            return None
        return original(self, msgs)

    monkeypatch.setattr(JetStreamApplicationRecorder, "_read_back_or_none", read_back_fails_once)
    aggregate, other = uuid4(), uuid4()
    loss.armed = 1
    assert writer.insert_events([event(aggregate, 1)]) == [1]
    failed.clear()
    loss.armed = 1
    assert writer.insert_events([event(aggregate, 2), event(other, 1)]) == [2, 3]
    assert loss.armed == 0
    log = app_recorder(connection, stream_prefix).select_notifications(start=1, limit=100)
    assert [(n.originator_id, n.originator_version) for n in log] == [
        (aggregate, 1),
        (aggregate, 2),
        (other, 1),
    ]


def test_a_lost_ack_of_an_unstored_write_is_written_once(
    nats_url: str, stream_prefix: str, loss: AckLoss
) -> None:
    writer = app_recorder(NatsConnection.shared(nats_url), stream_prefix)
    aggregate = uuid4()
    loss.store = False
    loss.armed = 1
    assert writer.insert_events([event(aggregate, 1)]) == [1]
    loss.armed = 1
    assert writer.insert_events([event(aggregate, 2), event(uuid4(), 1)]) == [2, 3]
    assert [n.id for n in writer.select_notifications(start=1, limit=100)] == [1, 2, 3]


@pytest.mark.parametrize("batch", [False, True])
def test_a_lost_ack_is_found_even_after_another_writer_appended(
    nats_url: str,
    stream_prefix: str,
    loss: AckLoss,
    connections: Callable[[str], NatsConnection],
    batch: bool,
) -> None:
    """Ours landed, its ack was lost, and another writer appended after it before we looked."""
    writer = app_recorder(connections(nats_url), stream_prefix)
    other_writer = app_recorder(connections(nats_url), stream_prefix)
    aggregate, extra = uuid4(), uuid4()
    writer.insert_events([event(aggregate, 1)])
    ours = [event(aggregate, 2, b"ours")] + ([event(extra, 1, b"ours")] if batch else [])
    loss.meanwhile = lambda: other_writer.insert_events([event(aggregate, 3, b"theirs")])
    loss.armed = 1
    assert writer.insert_events(ours) == ([2, 3] if batch else [2])
    assert [e.state for e in writer.select_events(aggregate)] == [b"{}", b"ours", b"theirs"]


@pytest.mark.parametrize("batch", [False, True])
def test_a_lost_ack_does_not_claim_another_writers_event(
    nats_url: str,
    stream_prefix: str,
    loss: AckLoss,
    connections: Callable[[str], NatsConnection],
    batch: bool,
) -> None:
    """Ours never landed; meanwhile another writer stored the same version.

    Reading back must not take the other writer's event for ours: the caller must get
    the conflict (IntegrityError), not believe that its event was recorded.
    """
    writer = app_recorder(connections(nats_url), stream_prefix)
    other_writer = app_recorder(connections(nats_url), stream_prefix)
    aggregate, extra = uuid4(), uuid4()
    writer.insert_events([event(aggregate, 1)])
    writer.select_events(aggregate)  # its cache expects version 1 to be the last

    def theirs_lands() -> None:
        other_writer.insert_events(
            [event(aggregate, 2, b"theirs")] + ([event(extra, 1, b"theirs")] if batch else [])
        )

    loss.store = False
    loss.meanwhile = theirs_lands
    loss.armed = 1
    ours = [event(aggregate, 2, b"ours")] + ([event(extra, 1, b"ours")] if batch else [])
    with pytest.raises(IntegrityError):
        run_bounded(lambda: writer.insert_events(ours))
    assert loss.armed == 0
    assert [e.state for e in writer.select_events(aggregate)] == [b"{}", b"theirs"]
    assert [e.state for e in writer.select_events(extra)] == ([b"theirs"] if batch else [])


# -- subscriptions across a restart -----------------------------------------------------------


class Collector:
    """Reads a subscription on a thread, so that a test can wait for it with a bound."""

    def __init__(self, subscription: Subscription[Any]) -> None:
        self.subscription = subscription
        self.received: list[Notification] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for notification in self.subscription:
            self.received.append(notification)

    def wait_for(self, count: int) -> None:
        wait_until(
            lambda: len(self.received) >= count, f"{count} notifications (got {len(self.received)})"
        )

    def stop(self) -> None:
        self.subscription.stop()
        self._thread.join(10)
        assert not self._thread.is_alive()


def test_subscription_delivers_everything_in_order_across_a_restart(
    server: ServerUnderTest, connections: Callable[[str], NatsConnection]
) -> None:
    prefix = new_prefix()
    connection = connections(server.url)
    writer = app_recorder(connection, prefix)
    aggregates = [uuid4() for _ in range(5)]
    for aggregate in aggregates:
        writer.insert_events([event(aggregate, 1)])
    collector = Collector(writer.subscribe(gt=2))
    try:
        collector.wait_for(3)
        for cycle in range(2):
            server.kill()
            server.restart()
            wait_until(lambda: connection.is_connected, "the connection comes back")
            for aggregate in aggregates:
                writer.insert_events([event(aggregate, 2 + cycle)])
            collector.wait_for(3 + 5 * (cycle + 1))
        ids = [n.id for n in collector.received]
        assert ids == list(range(3, 16))  # every one, in order, none twice
        assert [(n.originator_id, n.originator_version) for n in collector.received[-5:]] == [
            (a, 3) for a in aggregates
        ]
    finally:
        collector.stop()


def test_subscription_resumes_after_a_disconnect_with_writes_meanwhile(
    server: ServerUnderTest, connections: Callable[[str], NatsConnection]
) -> None:
    """Writes made by another process while the subscriber was disconnected still arrive."""
    prefix = new_prefix()
    subscriber_conn = connections(server.url)
    reader = app_recorder(subscriber_conn, prefix)
    reader.insert_events([event(uuid4(), 1)])
    collector = Collector(reader.subscribe())
    try:
        collector.wait_for(1)
        server.kill()
        server.restart()
        writer = app_recorder(connections(server.url), prefix)  # another process
        for _ in range(20):
            writer.insert_events([event(uuid4(), 1)])
        collector.wait_for(21)
        assert [n.id for n in collector.received] == list(range(1, 22))
    finally:
        collector.stop()


# -- a process recorder's tracking position after a crash --------------------------------------


class SimulatedCrash(BaseException):
    """The process died here (not an Exception: nothing may catch it on the way)."""


def process_recorder(nats_url: str, prefix: str) -> JetStreamProcessRecorder:
    factory = JetStreamFactory(
        Environment("worker", {"NATS_URL": nats_url, "NATS_STREAM_PREFIX": prefix})
    )
    recorder = factory.process_recorder()
    assert isinstance(recorder, JetStreamProcessRecorder)
    return recorder


@pytest.mark.parametrize("had_pointer", [False, True])
def test_tracking_survives_a_crash_between_event_and_pointer(
    nats_url: str, stream_prefix: str, monkeypatch: pytest.MonkeyPatch, had_pointer: bool
) -> None:
    before = process_recorder(nats_url, stream_prefix)
    if had_pointer:
        before.insert_events([event(uuid4(), 1)], tracking=Tracking("upstream", 1))
        assert before.max_tracking_id("upstream") == 1
    position = 2 if had_pointer else 1

    def crash(pointer: OutMsg) -> None:
        raise SimulatedCrash

    monkeypatch.setattr(before, "_write_pointer", crash)
    caused = uuid4()
    with pytest.raises(SimulatedCrash):
        before.insert_events([event(caused, 1)], tracking=Tracking("upstream", position))
    # The event (carrying its position in headers) landed; the pointer did not.
    messages = stream_messages(before.connection, before)
    assert messages[-1].headers[H_TRACK_ID] == str(position)
    pointers = stream_messages(before.connection, before, before.subjects.tracking("upstream"))
    assert len(pointers) == (1 if had_pointer else 0)

    after = process_recorder(nats_url, stream_prefix)  # a new process: no cached state
    assert after.max_tracking_id("upstream") == position
    assert after.has_tracking_id("upstream", position)
    with pytest.raises(IntegrityError):  # the same upstream notification, processed again
        after.insert_events([event(caused, 1)], tracking=Tracking("upstream", position))
    with pytest.raises(IntegrityError):
        after.insert_events([event(uuid4(), 1)], tracking=Tracking("upstream", position))
    with pytest.raises(IntegrityError):
        after.insert_tracking(Tracking("upstream", position))
    assert [e.originator_version for e in after.select_events(caused)] == [1]

    # It carries on from there.
    after.insert_events([event(uuid4(), 1)], tracking=Tracking("upstream", position + 1))
    assert process_recorder(nats_url, stream_prefix).max_tracking_id("upstream") == position + 1
    assert after.max_tracking_id("other") is None


def test_tracking_pointer_lost_without_a_crash_is_recovered(
    nats_url: str, stream_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = process_recorder(nats_url, stream_prefix)
    original = Wire.publish

    async def lose_pointers(wire: Wire, msg: OutMsg) -> int:
        if ".trk." in msg.subject:
            raise NatsUnavailableError("simulated: pointer not written")
        return await original(wire, msg)

    monkeypatch.setattr(Wire, "publish", lose_pointers)
    recorder.insert_events([event(uuid4(), 1)], tracking=Tracking("upstream", 5))
    assert recorder.max_tracking_id("upstream") == 5
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(uuid4(), 1)], tracking=Tracking("upstream", 5))
    assert process_recorder(nats_url, stream_prefix).max_tracking_id("upstream") == 5
