"""Leases in a NATS key-value bucket: one active runner of a projection or connector at a time.

Why NATS KV and not PostgreSQL advisory locks: the default read-model database is SQLite,
which has none, while NATS is always there (it is the event store); and a KV entry is
visible (`hub projections status` can say who holds it), where a lock dies with its
session but cannot be inspected across databases.

A lease is a key created with `kv.create` (which fails if the key exists) and kept
with `kv.update(..., last=revision)` (which fails if someone else wrote it since). The
bucket's max age is the time to live: the server removes a key nobody refreshed, so a
runner that dies without releasing loses its lease after at most `ttl` seconds.
The TTL is fixed when the bucket is made (one bucket per stream prefix, `<prefix>_leases`).

Exactly-once does not rest on the lease: a writer that lost it without knowing (a long
pause) fails on the tracking row, which only moves forward. The lease only keeps
standbys from doing the same work twice.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from contextlib import suppress
from time import monotonic
from typing import Any
from uuid import uuid4

import structlog
from nats.js.errors import (
    BadRequestError,
    BucketNotFoundError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)

from infra.errors import LeaseLostError, NatsUnavailableError
from infra.nats_client import NatsConnection

DEFAULT_TTL = 10.0
log = structlog.get_logger(__name__)


def new_owner() -> str:
    """A name for this holder that no other process or thread will use."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"


class Lease:
    """A named lease that one owner at a time holds, lapsing `ttl` seconds after its refresh."""

    def __init__(
        self,
        connection: NatsConnection,
        bucket: str,
        key: str,
        *,
        owner: str | None = None,
        ttl: float = DEFAULT_TTL,
    ) -> None:
        self.connection = connection
        self.bucket = bucket
        self.key = key
        self.owner = owner or new_owner()
        self.ttl = ttl
        self._kv: Any = None
        self._revision: int | None = None
        self._refreshed_at = 0.0

    @property
    def held(self) -> bool:
        return self._revision is not None

    @property
    def refresh_interval(self) -> float:
        """A third of the TTL (the bucket's, once opened)."""
        return self.ttl / 3

    def _bucket(self) -> Any:
        if self._kv is None:
            js = self.connection.client.jetstream()

            async def open_bucket() -> tuple[Any, float | None]:
                try:
                    kv = await js.key_value(self.bucket)
                except BucketNotFoundError:
                    try:
                        kv = await js.create_key_value(bucket=self.bucket, ttl=self.ttl, history=1)
                    except BadRequestError:  # made meanwhile by another process
                        kv = await js.key_value(self.bucket)
                return kv, (await kv.status()).ttl

            kv, ttl = self.connection.run(open_bucket, timeout=10)
            if ttl and ttl != self.ttl:
                # The bucket's max age is what the server enforces, whatever we asked for.
                log.info("lease.ttl_from_bucket", bucket=self.bucket, asked=self.ttl, ttl=ttl)
                self.ttl = ttl
            self._kv = kv
        return self._kv

    def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True if this owner holds it now."""
        kv = self._bucket()
        try:
            self._revision = self.connection.run(lambda: kv.create(self.key, self.owner.encode()))
        except KeyWrongLastSequenceError:
            return False
        self._refreshed_at = monotonic()
        log.info("lease.acquired", key=self.key, owner=self.owner)
        return True

    def refresh(self) -> None:
        """Extend the lease; raises `LeaseLostError` if it is no longer this owner's.

        While NATS is unreachable the lease is kept until its TTL could have run out.
        """
        if self._revision is None:
            msg = f"lease {self.key} is not held by {self.owner}"
            raise LeaseLostError(msg)
        kv = self._bucket()
        revision = self._revision
        try:
            self._revision = self.connection.run(
                lambda: kv.update(self.key, self.owner.encode(), last=revision)
            )
        except KeyWrongLastSequenceError as error:
            self._revision = None
            msg = f"lease {self.key} was taken over: {self.owner} stalled past {self.ttl}s"
            raise LeaseLostError(msg) from error
        except NatsUnavailableError as error:
            if monotonic() - self._refreshed_at < self.ttl:
                return
            self._revision = None
            msg = f"lease {self.key} may have lapsed while NATS was unreachable"
            raise LeaseLostError(msg) from error
        self._refreshed_at = monotonic()

    def keep(self) -> bool:
        """Refresh the lease if a third of its TTL has passed since; True if it did."""
        if monotonic() - self._refreshed_at < self.refresh_interval:
            return False
        self.refresh()
        return True

    def release(self) -> None:
        """Give the lease up now (a standby takes it without waiting for the TTL)."""
        revision, self._revision = self._revision, None
        if revision is None:
            return
        kv = self._bucket()
        # Already someone else's, or unreachable: either way it lapses by itself.
        with suppress(KeyWrongLastSequenceError, BadRequestError, NatsUnavailableError):
            self.connection.run(lambda: kv.delete(self.key, last=revision))
        log.info("lease.released", key=self.key, owner=self.owner)

    def holder(self) -> str | None:
        """The owner holding the lease now, if any."""
        kv = self._bucket()
        try:
            entry = self.connection.run(lambda: kv.get(self.key))
        except KeyNotFoundError:
            return None
        return bytes(entry.value).decode() if entry.value else None


def lease_for(
    env: Mapping[str, str], key: str, *, owner: str | None = None, ttl: float = DEFAULT_TTL
) -> Lease:
    """The lease `key` in the bucket of the event store that `env` names."""
    url = env.get("NATS_URL")
    if not url:
        msg = "NATS_URL is not set: leases live in the event store's NATS"
        raise OSError(msg)
    connection = NatsConnection.shared(url, timeout=float(env.get("NATS_TIMEOUT", "2")))
    prefix = env.get("NATS_STREAM_PREFIX", "hub")
    return Lease(connection, f"{prefix}_leases", key, owner=owner, ttl=ttl)
