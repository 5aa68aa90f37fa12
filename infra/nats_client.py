"""One NATS connection per process, on its own event-loop thread, for synchronous callers.

The eventsourcing library is synchronous and nats-py is asyncio: recorders hand
coroutines to this thread and wait for them with a bound, so that NATS being down
makes a write fail fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any, ClassVar, TypeVar

import structlog
from nats.aio.client import Client
from nats.errors import (
    ConnectionClosedError,
    ConnectionDrainingError,
    ConnectionReconnectingError,
    OutboundBufferLimitError,
)

from infra.errors import NatsServerTooOldError, NatsUnavailableError

T = TypeVar("T")
RawHandler = Callable[[bytes, bytes, bytes, bytes | None], None]

MIN_SERVER_VERSION = (2, 12, 0)
log = structlog.get_logger(__name__)


def check_server_version(version: tuple[int, int, int], url: str) -> None:
    if version < MIN_SERVER_VERSION:
        have = ".".join(map(str, version))
        need = ".".join(map(str, MIN_SERVER_VERSION))
        msg = (
            f"nats-server {have} at {url} is too old: the event store needs {need} or newer "
            "(atomic batches); upgrade it, or unset HUB_NATS_URL to use the bundled server"
        )
        raise NatsServerTooOldError(msg)


class RawClient(Client):
    """nats-py's client, plus subscriptions served raw.

    A raw subscription's messages go from the protocol parser straight to its handler
    as (subject, reply, data, header block) bytes: no Msg object, no header parsing, no
    hop through the subscription's queue and task. That costs about 15 µs a message in
    nats-py, more than everything else on a replay path. It overrides a private method
    of nats-py: re-check on a nats-py upgrade (the subscription contract tests cover it).
    """

    def __init__(self) -> None:
        super().__init__()
        self.raw_handlers: dict[int, RawHandler] = {}

    async def publish_encoded(
        self, subject: str, reply: str, header_block: bytes, payload: bytes
    ) -> None:
        """`publish` of a message whose header block is already encoded (`encode_headers`).

        nats-py validates and encodes headers on every publish, key by key, which cost
        more than the rest of a commit's Python; the event store's own subjects and
        headers need none of it. The same checks on the connection's state as `publish`.
        """
        if self.is_closed:
            raise ConnectionClosedError
        if self.is_draining_pubs:
            raise ConnectionDrainingError
        if not self.is_connected:
            raise ConnectionReconnectingError
        size = len(header_block)
        command = b"HPUB %b %b %d %d\r\n%b%b\r\n" % (
            subject.encode(),
            reply.encode(),
            size,
            size + len(payload),
            header_block,
            payload,
        )
        self.stats["out_msgs"] += 1
        self.stats["out_bytes"] += len(payload)
        await self._send_command(command)
        if self._flush_queue is not None and self._flush_queue.empty():
            await self._flush_pending()

    async def _process_msg(
        self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes
    ) -> None:
        handler = self.raw_handlers.get(sid)
        if handler is None:
            await super()._process_msg(sid, subject, reply, data, headers)
        else:
            handler(subject, reply, data, headers)


def encode_headers(headers: Mapping[str, str]) -> bytes:
    """A NATS header block; a name or value holding CR or LF is refused (ValueError)."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        msg = f"a NATS header name or value holds a line break: {sorted(headers)}"
        raise ValueError(msg)
    return f"NATS/1.0\r\n{lines}\r\n".encode()


UNAVAILABLE = (OutboundBufferLimitError, ConnectionClosedError, ConnectionReconnectingError)
"""What nats-py raises for a publish or request while the connection is down."""


async def open_client(
    url: str, *, timeout: float, name: str, on_disconnect: Callable[[], None]
) -> RawClient:
    """A client connected to `url` on the running loop, its server version checked.

    nats-py retries the first connect for ever when max_reconnect_attempts is negative:
    bound it (two attempts), then reconnect without limit once connected. pending_size=0:
    no buffering of publishes while reconnecting; `on_disconnect` runs when the connection
    drops (see `drop_unsent`).
    """

    async def disconnected() -> None:
        on_disconnect()

    async def on_reconnect() -> None:
        log.info("nats.reconnected", url=url)

    async def on_error(error: Exception) -> None:
        log.debug("nats.error", error=str(error))

    client = RawClient()
    try:
        options: dict[str, Any] = {
            "name": name,
            "connect_timeout": timeout,
            "allow_reconnect": True,
            "max_reconnect_attempts": 1,
            "reconnect_time_wait": 0.25,
            "disconnected_cb": disconnected,
            "reconnected_cb": on_reconnect,
            "error_cb": on_error,
            "pending_size": 0,
        }
        await client.connect(url, **options)
        client.options["max_reconnect_attempts"] = -1
    except Exception as error:
        msg = (
            f"cannot reach NATS at {url} ({type(error).__name__}): start it, "
            "or unset HUB_NATS_URL to use the bundled server"
        )
        raise NatsUnavailableError(msg) from error
    version = client.connected_server_version
    try:
        check_server_version((version.major, version.minor, version.patch), url)
    except NatsServerTooOldError:
        await client.close()
        raise
    return client


def drop_unsent(client: Client, url: str) -> None:
    """Forget what was queued for a lost connection and not yet written to it.

    nats-py sends it after reconnecting: a write whose caller was told that NATS is
    unavailable (and that may have been retried or answered 503) would then land
    seconds or minutes later. Subscriptions are not lost: nats-py renews them from
    its own table on reconnect. (nats-py has no option for this: its buffer is private.)
    """
    if getattr(client, "_pending", None):
        log.info("nats.unsent_dropped", url=url, commands=len(client._pending))
        client._pending = []
        client._pending_data_size = 0


class NatsConnection:
    """A connected nats-py client with the loop thread that drives it."""

    _shared: ClassVar[dict[str, NatsConnection]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, *, timeout: float = 2.0, name: str = "hub") -> None:
        self.url = url
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="nats-loop", daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self.client: RawClient = self._submit(self._connect(name), timeout + 1.0)
        except BaseException:
            self._stop_loop()
            raise

    @classmethod
    def shared(cls, url: str, *, timeout: float = 2.0) -> NatsConnection:
        """The process-wide connection to `url`, made on first use."""
        with cls._shared_lock:
            conn = cls._shared.get(url)
            if conn is None or conn._closed:
                conn = cls(url, timeout=timeout)
                cls._shared[url] = conn
            return conn

    @classmethod
    def close_all(cls) -> None:
        with cls._shared_lock:
            conns, cls._shared = list(cls._shared.values()), {}
        for conn in conns:
            conn.close()

    async def _connect(self, name: str) -> RawClient:
        def on_disconnect() -> None:
            if not self._closed:
                log.warning("nats.disconnected", url=self.url)
            self._drop_unsent()

        return await open_client(
            self.url, timeout=self.timeout, name=name, on_disconnect=on_disconnect
        )

    @property
    def is_connected(self) -> bool:
        return bool(self.client.is_connected)

    def _drop_unsent(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            drop_unsent(client, self.url)

    def _submit(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError as error:
            future.cancel()
            msg = f"NATS at {self.url} did not answer within {timeout:.1f}s"
            raise NatsUnavailableError(msg) from error

    def run(self, factory: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `factory()` on the loop thread and wait at most `timeout` seconds."""
        if self._closed:
            msg = "the NATS connection is closed"
            raise NatsUnavailableError(msg)
        if not self.client.is_connected:
            msg = f"NATS at {self.url} is unreachable (reconnecting)"
            raise NatsUnavailableError(msg)

        async def call() -> T:
            # Checked again on the loop: the connection may have dropped meanwhile.
            if not self.client.is_connected:
                msg = f"NATS at {self.url} is unreachable (reconnecting)"
                raise NatsUnavailableError(msg)
            try:
                return await factory()
            except UNAVAILABLE as error:
                msg = f"NATS at {self.url} is unreachable ({type(error).__name__})"
                raise NatsUnavailableError(msg) from error

        return self._submit(call(), self.timeout if timeout is None else timeout)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(self.client.close(), 5.0)
        except Exception:  # noqa: BLE001 - closing a dead connection must not fail shutdown
            log.debug("nats.close_failed")
        self._stop_loop()

    def _stop_loop(self) -> None:
        """Cancel what still runs on the loop (a connect that timed out), stop and close it."""

        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=2.0)

        try:
            asyncio.run_coroutine_threadsafe(cancel_rest(), self.loop).result(3.0)
        except Exception:  # noqa: BLE001 - stopping must not fail shutdown
            log.debug("nats.cancel_failed")
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()
