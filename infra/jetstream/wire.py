"""Raw JetStream operations on one connection: publish, atomic batch, Direct Get, push replay.

nats-py has no API for atomic batches or Direct Get batches, and its per-message
metadata parsing is slow on replay, so these speak the JetStream wire API directly.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

WRONG_LAST_SEQUENCE = 10071
BATCH_SUBJECT_CONFLICT = 10164
STREAM_NOT_FOUND = 10059
STREAM_NAME_IN_USE = 10058
MAX_BATCH = 1000


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


def _raise_for_error(payload: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(payload)
    error = body.get("error")
    if error:
        raise JetStreamAPIError(error.get("code", 0), error.get("err_code", 0),
                                error.get("description", "unknown error"))
    return body


class Wire:
    """JetStream operations on a connected client; every method runs on its loop."""

    def __init__(self, client: Client, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self._inbox_prefix = f"_INBOX.dg{secrets.token_hex(8)}"
        self._pending: dict[str, _Pending] = {}
        self._mux_ready = False

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
            return await self.client.request(subject, payload, timeout=self.timeout,
                                             headers=headers)
        except (NatsTimeoutError, NoRespondersError, asyncio.TimeoutError) as error:
            raise AckLostError(str(error) or type(error).__name__) from error

    # -- writes ----------------------------------------------------------------------------

    async def publish(self, msg: OutMsg) -> int:
        """Store one message; returns its stream sequence."""
        reply = await self._request(msg.subject, msg.data, msg.headers)
        return int(_raise_for_error(reply.data)["seq"])

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
        headers = {**commit.headers, "Nats-Batch-Id": batch_id,
                   "Nats-Batch-Sequence": str(last), "Nats-Batch-Commit": "1"}
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
            pending.messages.append(StoredMsg(
                headers["Nats-Subject"], int(headers["Nats-Sequence"]), msg.data, headers))
        elif status == "204":
            pending.done.set_result(int(headers.get("Nats-Num-Pending", "0")))
        else:  # 404: nothing at or after that sequence; 408: bad request
            pending.done.set_result(0)

    async def direct_batch(self, stream: str, *, seq: int, subject: str, batch: int,
                           up_to_seq: int | None = None) -> tuple[list[StoredMsg], int]:
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
            await self.client.publish(f"$JS.API.DIRECT.GET.{stream}", json.dumps(body).encode(),
                                      reply=inbox)
            assert pending.done is not None
            left = await asyncio.wait_for(pending.done, self.timeout)
        except asyncio.TimeoutError as error:
            raise AckLostError("Direct Get timed out") from error
        finally:
            del self._pending[inbox]
        return pending.messages, left

    async def direct_all(self, stream: str, *, subject: str, seq: int = 1,
                         up_to_seq: int | None = None, page: int = 1000) -> list[StoredMsg]:
        """Every message on `subject` from `seq` on (paged)."""
        out: list[StoredMsg] = []
        while True:
            msgs, left = await self.direct_batch(stream, seq=seq, subject=subject, batch=page,
                                                 up_to_seq=up_to_seq)
            out.extend(msgs)
            if not msgs or left == 0:
                return out
            seq = msgs[-1].seq + 1

    async def direct_first_after(self, stream: str, subject: str, start_time: str) -> int | None:
        """The sequence of the first message on `subject` stored at or after `start_time`."""
        body = {"start_time": start_time, "next_by_subj": subject}
        reply = await self._request(f"$JS.API.DIRECT.GET.{stream}", json.dumps(body).encode(),
                                    None)
        headers = reply.headers or {}
        if headers.get("Status"):
            return None
        return int(headers["Nats-Sequence"])

    async def direct_last(self, stream: str, subject: str) -> StoredMsg | None:
        """The newest message on `subject` (wildcards allowed), or None."""
        reply = await self._request(f"$JS.API.DIRECT.GET.{stream}",
                                    json.dumps({"last_by_subj": subject}).encode(), None)
        headers = reply.headers or {}
        if headers.get("Status"):
            return None
        return StoredMsg(headers["Nats-Subject"], int(headers["Nats-Sequence"]), reply.data,
                         headers)

    # -- live replay -----------------------------------------------------------------------

    async def replay(self, stream: str, *, subject: str, start_seq: int,
                     on_message: Callable[[str, int, bytes, dict[str, str]], None],
                     ) -> Callable[[], Any]:
        """Push every message on `subject` from `start_seq` on to `on_message`, then live ones.

        An ephemeral ordered push consumer (no acks, flow control, heartbeats). The stream
        sequence is read from the reply subject rather than through nats-py's metadata
        parser, which is several times slower. On a gap (a lost message after a
        reconnect) the consumer is recreated from the last sequence seen.
        Returns an async function that stops it.
        """
        state = {"last": start_seq - 1, "cseq": 0, "stopped": False}
        deliver = self.client.new_inbox()
        consumer: dict[str, str] = {}

        async def create() -> None:
            config = {
                "deliver_subject": deliver, "deliver_policy": "by_start_sequence",
                "opt_start_seq": int(state["last"]) + 1, "ack_policy": "none",
                "filter_subject": subject, "flow_control": True, "idle_heartbeat": 5_000_000_000,
                "mem_storage": True, "num_replicas": 1, "inactive_threshold": 30_000_000_000,
                "max_deliver": 1, "replay_policy": "instant",
            }
            state["cseq"] = 0
            body = await self.api(f"CONSUMER.CREATE.{stream}", {"stream_name": stream,
                                                                   "config": config})
            consumer["name"] = body["name"]

        async def on_msg(msg: Msg) -> None:
            if state["stopped"]:
                return
            headers = msg.headers or {}
            if "Status" in headers and not msg.reply.startswith("$JS.ACK."):
                if msg.reply:  # flow control request
                    await self.client.publish(msg.reply, b"")
                return
            # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
            parts = msg.reply.split(".")
            sseq, cseq = int(parts[-4]), int(parts[-3])
            if cseq != int(state["cseq"]) + 1:
                await restart()
                return
            state["cseq"] = cseq
            state["last"] = sseq
            on_message(msg.subject, sseq, msg.data, headers)

        async def restart() -> None:
            await delete()
            await create()

        async def delete() -> None:
            name = consumer.pop("name", None)
            if name:
                try:
                    await self.api(f"CONSUMER.DELETE.{stream}.{name}")
                except (JetStreamAPIError, AckLostError):
                    pass  # it expires by itself (inactive_threshold)

        sub = await self.client.subscribe(deliver, cb=on_msg, pending_msgs_limit=1_000_000,
                                          pending_bytes_limit=512 * 1024 * 1024)
        await create()

        async def stop() -> None:
            state["stopped"] = True
            await sub.unsubscribe()
            await delete()

        return stop
