"""The hub application: command handlers that decide and record events."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Notification, Recording, StoredEvent

from hub.domain.base import HubAggregate
from hub.domain.tenants import Tenant, tenant_id
from hub.ops.metrics import count_stored, count_stored_as
from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.secrets import SecretBox, hash_api_key, new_secret


class TenantExistsError(Exception):
    """Raised when a tenant with that slug is already registered."""


@dataclass(frozen=True)
class NewTenant:
    """What `register_tenant` returns: the secrets, shown once, and the log position."""

    slug: str
    api_key: str
    webhook_secret: str
    position: int


class Hub(Application[str]):
    """Records the hub's own events (tenants, and the signals later issues add)."""

    name = "hub"

    def _notify(self, recordings: list[Recording[str]]) -> None:
        """After every commit (`save` and `save_async`): count the events stored."""
        super()._notify(recordings)
        count_stored(r.domain_event for r in recordings)

    async def save_async(self, *objs: HubAggregate) -> list[Recording[str]]:
        """`save` for a caller on an event loop (an HTTP handler), without a thread hop.

        On the JetStream recorder, with no snapshots or aggregate cache to keep, the
        events are mapped here and committed on the loop's own NATS client
        (`insert_events_here`); otherwise `save` runs in a thread. Either way the
        commit is the same: one message, or one atomic batch.
        """
        recorder = self._recorder_here()
        if recorder is None:
            return await asyncio.to_thread(self.save, *objs)
        events = [event for obj in objs for event in obj.collect_events()]
        stored = [self.mapper.to_stored_event(event) for event in events]
        ids = await recorder.insert_events_here(stored)
        recordings = [
            Recording(
                event,
                Notification(
                    id=n_id,
                    originator_id=s.originator_id,
                    originator_version=s.originator_version,
                    topic=s.topic,
                    state=s.state,
                ),
            )
            for event, s, n_id in zip(events, stored, ids, strict=True)
        ]
        self._notify(recordings)
        return recordings

    async def record_new_async(
        self, originator_id: str, topic: str, state: dict[str, Any]
    ) -> int | None:
        """Commit the first event of a new aggregate, given as its topic and state, on the
        loop (as `save_async` does): its log position. The state is mapped as the mapper
        maps an event (transcoder, compressor, cipher), so the bytes are the same.

        None when this hub cannot commit on the loop (another recorder, snapshots or an
        aggregate cache): the caller saves the aggregate instead. A conflict (the
        aggregate exists) raises `IntegrityError`, as `save` does.
        """
        recorder = self._recorder_here()
        if recorder is None:
            return None
        mapper = self.mapper
        data = mapper.transcoder.encode(state)
        if mapper.compressor:
            data = mapper.compressor.compress(data)
        if mapper.cipher:
            data = mapper.cipher.encrypt(data)
        stored = StoredEvent(
            originator_id=originator_id, originator_version=1, topic=topic, state=data
        )
        position = (await recorder.insert_events_here([stored]))[0]
        context = state.get("context") or {}  # counted as `_notify` counts a save's events
        count_stored_as(str(context.get("source", "hub")), topic.rsplit(":", 1)[-1])
        return position

    def _recorder_here(self) -> JetStreamApplicationRecorder | None:
        """The recorder, if commits can be awaited on the loop (nothing else to keep)."""
        recorder = self.recorder
        if (
            not isinstance(recorder, JetStreamApplicationRecorder)
            or self.snapshots is not None
            or self.repository.cache is not None
        ):
            return None
        return recorder

    def register_tenant(self, slug: str, name: str, box: SecretBox) -> NewTenant:
        if self.tenant(slug) is not None:
            msg = f"tenant {slug!r} already exists"
            raise TenantExistsError(msg)
        api_key = new_secret("hubk")
        webhook_secret = new_secret("whsec")
        tenant = Tenant(
            slug,
            name,
            hash_api_key(api_key),
            box.encrypt(webhook_secret, context=f"{slug}:webhook"),
        )
        recordings = self.save(tenant)
        return NewTenant(slug, api_key, webhook_secret, recordings[-1].notification.id)

    def tenant(self, slug: str) -> Tenant | None:
        try:
            found: Tenant = self.repository.get(tenant_id(slug))
        except AggregateNotFoundError:
            return None
        return found
