"""Raw JetStream operations on one connection: publish, atomic batch, Direct Get, push replay.

nats-py has no API for atomic batches or Direct Get batches, and its per-message
metadata parsing is slow on replay, so these speak the JetStream wire API directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from infra.nats_client import RawClient, RawHandler, encode_headers

UNFILTERED_MIN_BACKLOG = 1000  # below this, a replay is short whichever way it reads
WRONG_LAST_SEQUENCE = 10071
BATCH_SUBJECT_CONFLICT = 10164
STREAM_NOT_FOUND = 10059
STREAM_NAME_IN_USE = 10058
BATCH_DUPLICATE_MSG_ID = 10201
MAX_BATCH = 1000
REPLAY_HEARTBEAT_S = 1.0  # a replay consumer silent for 3 heartbeats is recreated

log = structlog.get_logger(__name__)


class JetStreamAPIError(Exception):
    """The server answered a JetStream request with an error."""

    def __init__(self, code: int, err_code: int, description: str) -> None:
        super().__init__(f"{description} (error {err_code})")
        self.code = code
        self.err_code = err_code
        self.description = description

    @property
    def is_conflict(self) -> bool:
        return self.err_code in (WRONG_LAST_SEQUENCE, BATCH_SUBJECT_CONFLICT)

    @property
    def is_duplicate(self) -> bool:
        """An atomic batch refused whole because a message id was already stored."""
        return self.err_code == BATCH_DUPLICATE_MSG_ID


class AckLostError(Exception):
    """No acknowledgement came back: the write may or may not have been stored."""


@dataclass(frozen=True)
class OutMsg:
    subject: str
    data: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class StoredMsg:
    subject: str
    seq: int
    data: bytes
    headers: dict[str, str]


@dataclass
class _Pending:
    messages: list[StoredMsg] = field(default_factory=list)
    done: asyncio.Future[int] | None = None  # resolves to the number of messages pending


RawMsg = tuple[str, int, bytes, bytes]  # subject, stream sequence, data, header block


def header_value(block: bytes, name: bytes) -> bytes | None:
    """The value of header `name` in a raw header block (b"NATS/1.0\\r\\nName: value...")."""
    start = block.find(b"\r\n" + name + b":")
    if start < 0:
        return None
    start += len(name) + 3
    end = block.find(b"\r\n", start)
    return block[start : end if end >= 0 else len(block)].strip()


def _raise_for_error(payload: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(payload)
    error = body.get("error")
    if error:
        raise JetStreamAPIError(
            error.get("code", 0),
            error.get("err_code", 0),
            error.get("description", "unknown error"),
        )
    return body


class Wire:
    """JetStream operations on a connected client; every method runs on its loop."""

    def __init__(self, client: RawClient, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self._inbox_prefix = f"_INBOX.dg{secrets.token_hex(8)}"
        self._pending: dict[str, _Pending] = {}
        self._mux_ready = False
        self._ack_prefix = f"_INBOX.pa{secrets.token_hex(8)}."
        self._acks: dict[bytes, asyncio.Future[bytes]] = {}
        self._ack_numbers = itertools.count()
        self._acks_ready: asyncio.Future[None] | None = None
        self._ack_deadlines: deque[tuple[float, bytes]] = deque()
        self._sweeper: asyncio.Task[None] | None = None

    # -- streams ---------------------------------------------------------------------------

    async def api(self, subject: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = json.dumps(body).encode() if body is not None else b""
        reply = await self._request(f"$JS.API.{subject}", payload, None)
        return _raise_for_error(reply.data)

    async def ensure_stream(self, config: dict[str, Any]) -> None:
        name = config["name"]
        try:
            await self.api(f"STREAM.CREATE.{name}", config)
        except JetStreamAPIError as error:
            if error.err_code != STREAM_NAME_IN_USE:
                raise
            await self.api(f"STREAM.UPDATE.{name}", config)

    async def delete_stream(self, name: str) -> None:
        try:
            await self.api(f"STREAM.DELETE.{name}")
        except JetStreamAPIError as error:
            if error.err_code != STREAM_NOT_FOUND:
                raise

    async def _request(self, subject: str, payload: bytes, headers: dict[str, str] | None) -> Msg:
        try:
            return await self.client.request(
                subject, payload, timeout=self.timeout, headers=headers
            )
        except (NatsTimeoutError, NoRespondersError, TimeoutError) as error:
            raise AckLostError(str(error) or type(error).__name__) from error

    # -- writes ----------------------------------------------------------------------------

    async def publish(self, msg: OutMsg) -> int:
        """Store one message; returns its stream sequence.

        The PubAck comes back raw on one inbox subscription for all publishes (see
        `RawClient`): no per-request inbox, Msg object or header parsing, the hot path
        of every one-event commit.
        """
        await self._ensure_ack_inbox()
        reply = f"{self._ack_prefix}{next(self._ack_numbers)}"
        key = reply.encode()
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[bytes] = loop.create_future()
        self._acks[key] = answer
        # One sweeper fails overdue answers (`_sweep`): no timer per publish.
        self._ack_deadlines.append((loop.time() + self.timeout, key))
        try:
            await self.client.publish_encoded(
                msg.subject, reply, encode_headers(msg.headers), msg.data
            )
            data = await answer
        finally:
            self._acks.pop(key, None)
        return int(_raise_for_error(data)["seq"])

    async def _sweep(self) -> None:
        """Fail the answers still awaited past their deadline (AckLostError), in order."""
        loop = asyncio.get_running_loop()
        interval = min(0.1, self.timeout / 4)
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            deadlines = self._ack_deadlines
            while deadlines and deadlines[0][0] <= now:
                _, key = deadlines.popleft()
                answer = self._acks.pop(key, None)
                if answer is not None and not answer.done():
                    answer.set_exception(AckLostError(f"no PubAck within {self.timeout}s"))

    async def aclose(self) -> None:
        """Stop the sweeper (the client is the caller's to close)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _ensure_ack_inbox(self) -> None:
        if self._acks_ready is None:
            self._acks_ready = asyncio.get_running_loop().create_future()
            try:
                sub = await self.client.subscribe(f"{self._ack_prefix}*")
                self.client.raw_handlers[sub._id] = self._on_ack
                await self.client.flush(max(1, math.ceil(self.timeout)))
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
            except BaseException as error:
                self._acks_ready.set_exception(error)
                self._acks_ready.exception()  # retrieved: callers see it when they await
                self._acks_ready = None
                raise
            self._acks_ready.set_result(None)
        else:
            await self._acks_ready

    def _on_ack(self, subject: bytes, _reply: bytes, data: bytes, headers: bytes | None) -> None:
        answer = self._acks.get(subject)
        if answer is None or answer.done():
            return
        if headers and headers.startswith(b"NATS/1.0 503"):  # no stream listens on the subject
            answer.set_exception(AckLostError("no responders"))
        else:
            answer.set_result(data)

    async def publish_batch(self, msgs: Sequence[OutMsg]) -> list[int]:
        """Store messages atomically (all or none); returns their contiguous sequences."""
        if len(msgs) > MAX_BATCH:
            msg = f"an atomic commit holds at most {MAX_BATCH} messages, not {len(msgs)}"
            raise ValueError(msg)
        batch_id = secrets.token_hex(16)
        last = len(msgs)
        for number, out in enumerate(msgs[:-1], start=1):
            headers = {**out.headers, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(number)}
            await self.client.publish(out.subject, out.data, headers=headers)
        commit = msgs[-1]
        headers = {
            **commit.headers,
            "Nats-Batch-Id": batch_id,
            "Nats-Batch-Sequence": str(last),
            "Nats-Batch-Commit": "1",
        }
        reply = await self._request(commit.subject, commit.data, headers)
        body = _raise_for_error(reply.data)
        end = int(body["seq"])
        return list(range(end - last + 1, end + 1))

    # -- Direct Get ------------------------------------------------------------------------

    async def _ensure_mux(self) -> None:
        if self._mux_ready:
            return
        self._mux_ready = True
        await self.client.subscribe(f"{self._inbox_prefix}.*", cb=self._on_direct_reply)

    async def _on_direct_reply(self, msg: Msg) -> None:
        pending = self._pending.get(msg.subject)
        if pending is None or pending.done is None or pending.done.done():
            return
        headers = msg.headers or {}
        status = headers.get("Status")
        if status is None:
            pending.messages.append(
                StoredMsg(headers["Nats-Subject"], int(headers["Nats-Sequence"]), msg.data, headers)
            )
        elif status == "204":
            pending.done.set_result(int(headers.get("Nats-Num-Pending", "0")))
        else:  # 404: nothing at or after that sequence; 408: bad request
            pending.done.set_result(0)

    async def direct_batch(
        self, stream: str, *, seq: int, subject: str, batch: int, up_to_seq: int | None = None
    ) -> tuple[list[StoredMsg], int]:
        """Up to `batch` messages on `subject` (wildcards allowed) from `seq` on.

        Returns them with the number of matching messages left after them.
        """
        await self._ensure_mux()
        inbox = f"{self._inbox_prefix}.{secrets.token_hex(8)}"
        loop = asyncio.get_running_loop()
        pending = _Pending(done=loop.create_future())
        self._pending[inbox] = pending
        body: dict[str, Any] = {"seq": max(seq, 1), "batch": batch, "next_by_subj": subject}
        if up_to_seq is not None:
            body["up_to_seq"] = up_to_seq
        try:
            await self.client.publish(
                f"$JS.API.DIRECT.GET.{stream}", json.dumps(body).encode(), reply=inbox
            )
            assert pending.done is not None
            left = await asyncio.wait_for(pending.done, self.timeout)
        except TimeoutError as error:
            raise AckLostError("Direct Get timed out") from error
        finally:
            del self._pending[inbox]
        return pending.messages, left

    async def direct_all(
        self,
        stream: str,
        *,
        subject: str,
        seq: int = 1,
        up_to_seq: int | None = None,
        page: int = 1000,
    ) -> list[StoredMsg]:
        """Every message on `subject` from `seq` on (paged)."""
        out: list[StoredMsg] = []
        while True:
            msgs, left = await self.direct_batch(
                stream, seq=seq, subject=subject, batch=page, up_to_seq=up_to_seq
            )
            out.extend(msgs)
            if not msgs or left == 0:
                return out
            seq = msgs[-1].seq + 1

    async def direct_first_after(self, stream: str, subject: str, start_time: str) -> int | None:
        """The sequence of the first message on `subject` stored at or after `start_time`."""
        body = {"start_time": start_time, "next_by_subj": subject}
        reply = await self._request(f"$JS.API.DIRECT.GET.{stream}", json.dumps(body).encode(), None)
        headers = reply.headers or {}
        if headers.get("Status"):
            return None
        return int(headers["Nats-Sequence"])

    async def direct_last(self, stream: str, subject: str) -> StoredMsg | None:
        """The newest message on `subject` (wildcards allowed), or None."""
        reply = await self._request(
            f"$JS.API.DIRECT.GET.{stream}", json.dumps({"last_by_subj": subject}).encode(), None
        )
        headers = reply.headers or {}
        if headers.get("Status"):
            return None
        return StoredMsg(
            headers["Nats-Subject"], int(headers["Nats-Sequence"]), reply.data, headers
        )

    # -- live replay -----------------------------------------------------------------------

    async def replay(
        self,
        stream: str,
        *,
        subject: str,
        start_seq: int,
        on_batch: Callable[[list[RawMsg]], None],
    ) -> Callable[[], Awaitable[None]]:
        """Push every message on `subject` from `start_seq` on to `on_batch`, then live ones.

        Returns an async function that stops it. See `_Replay`.
        """
        replay = _Replay(self, stream, subject, start_seq, on_batch)
        await replay.start()
        return replay.stop


class _Replay:
    """An ephemeral ordered push consumer (no acks, flow control, heartbeats), kept alive.

    On a stream of many subjects a wildcard filter costs the server about 25 µs of CPU a
    message, ten times an unfiltered consumer: when the subject is a prefix (`a.b.>`) and
    its messages are a good share of the backlog, the consumer reads unfiltered and the
    prefix is matched here (`_unfiltered_is_cheaper`). Messages come raw (see
    `RawClient`): the stream sequence is read from the reply subject, the header block is
    left to the caller (`header_value`), and `on_batch` gets the messages of one socket
    read at a time. On a gap (a lost message after a
    reconnect), or when the heartbeats stop (the server restarted and the in-memory
    consumer is gone with it), the consumer is recreated from the last sequence seen,
    on a new inbox so that the old consumer's late messages are ignored.
    """

    def __init__(
        self,
        wire: Wire,
        stream: str,
        subject: str,
        start_seq: int,
        on_batch: Callable[[list[RawMsg]], None],
    ) -> None:
        self.wire = wire
        self.client = wire.client
        self.stream = stream
        self.subject = subject
        self.prefix = subject[:-1].encode() if subject.endswith(".>") else None
        self.on_batch = on_batch
        self.batch: list[RawMsg] = []
        self.last = start_seq - 1
        self.stopped = False
        self.loop = asyncio.get_running_loop()
        self.seen = self.loop.time()
        self._generations = itertools.count(1)
        self._gen = 0  # the live consumer's generation; 0: none
        self._sub: Any = None
        self._name: str | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        try:
            await self._create()
        except BaseException:
            await self._delete()
            raise
        self._spawn(self._watchdog())

    async def stop(self) -> None:
        self.stopped = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        async with self._lock:
            await self._delete()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _handler(self, gen: int) -> RawHandler:
        delivered = 0

        def on_raw(subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
            nonlocal delivered
            if self.stopped or gen != self._gen:
                return  # a consumer that was replaced
            self.seen = self.loop.time()
            if not reply.startswith(b"$JS.ACK."):
                # A status: flow control (answered on its reply subject) or a heartbeat,
                # which names a flow control reply if the consumer stalled.
                to = reply or header_value(headers or b"", b"Nats-Consumer-Stalled")
                if to:
                    self._spawn(self.client.publish(to.decode(), b""))
                return
            # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
            parts = reply.split(b".")
            sseq, cseq = int(parts[-4]), int(parts[-3])
            if cseq != delivered + 1:
                self._gen = 0  # ignore the rest of this consumer's messages
                self._spawn(self._restart())
                return
            delivered = cseq
            self.last = sseq
            if self.prefix is not None and not subject.startswith(self.prefix):
                return
            if not self.batch:
                self.loop.call_soon(self._flush)
            self.batch.append((subject.decode(), sseq, data, headers or b""))

        return on_raw

    def _flush(self) -> None:
        batch, self.batch = self.batch, []
        if batch and not self.stopped:
            self.on_batch(batch)

    async def _create(self) -> None:
        gen = next(self._generations)
        deliver = self.client.new_inbox()
        self._gen = gen
        self._sub = await self.client.subscribe(deliver)
        self.client.raw_handlers[self._sub._id] = self._handler(gen)
        config: dict[str, Any] = {
            "deliver_subject": deliver,
            "deliver_policy": "by_start_sequence",
            "opt_start_seq": self.last + 1,
            "ack_policy": "none",
            "flow_control": True,
            "idle_heartbeat": int(REPLAY_HEARTBEAT_S * 1e9),
            "mem_storage": True,
            "num_replicas": 1,
            "inactive_threshold": 30_000_000_000,
            "max_deliver": 1,
            "replay_policy": "instant",
        }
        if not await self._unfiltered_is_cheaper():
            config["filter_subject"] = self.subject
        body = await self.wire.api(
            f"CONSUMER.CREATE.{self.stream}", {"stream_name": self.stream, "config": config}
        )
        self._name = body["name"]
        self.seen = self.loop.time()

    async def _unfiltered_is_cheaper(self) -> bool:
        """Read everything and match the prefix here, or let the server filter?

        A wildcard filter costs the server about ten times an unfiltered read per message,
        so unfiltered wins while this application's messages are a good share (a fifth or
        more) of what is left to read; a small application in a big stream, or a replay
        that is caught up, is better filtered.
        """
        if self.prefix is None:
            return False
        first, left = await self.wire.direct_batch(
            self.stream, seq=self.last + 1, subject=self.subject, batch=1
        )
        matching = len(first) + left
        info = await self.wire.api(f"STREAM.INFO.{self.stream}")
        remaining = int(info["state"]["last_seq"]) - self.last
        return remaining >= UNFILTERED_MIN_BACKLOG and matching * 5 >= remaining

    async def _delete(self) -> None:
        self._gen = 0
        sub, self._sub = self._sub, None
        name, self._name = self._name, None
        if sub is not None:
            self.client.raw_handlers.pop(sub._id, None)
            with contextlib.suppress(Exception):  # a closed connection: gone anyway
                await sub.unsubscribe()
        if name:  # else it expires by itself (inactive_threshold)
            with contextlib.suppress(JetStreamAPIError, AckLostError):
                await self.wire.api(f"CONSUMER.DELETE.{self.stream}.{name}")

    async def _restart(self) -> None:
        async with self._lock:
            if self.stopped:
                return
            try:
                await self._delete()
                await self._create()
            except Exception as error:  # noqa: BLE001 - the watchdog tries again
                log.debug("replay.restart_failed", stream=self.stream, error=str(error))

    async def _watchdog(self) -> None:
        while not self.stopped:
            await asyncio.sleep(REPLAY_HEARTBEAT_S)
            silent = self.loop.time() - self.seen > 3 * REPLAY_HEARTBEAT_S
            if silent and self.client.is_connected:
                await self._restart()
