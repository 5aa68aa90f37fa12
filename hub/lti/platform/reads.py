"""Recent reads of what the service endpoints look up on every call and rarely changes:
tenants, tool registrations, a tool's gradebook (its line items), quests, people; and the
results this process wrote last.

Replaying a gradebook of twenty line items costs several milliseconds, on every score
POST; kept for `ttl_s` (2 s; people 30 s), a change made in this process is seen at once
(its writer forgets the entry) and one made in another process within that time. Handlers
that change an aggregate read it fresh from `hub`; a result is committed against the
version this process wrote, and a conflict sends it back to the store.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, TypeVar

from hub.application import Hub
from hub.domain.base import HubAggregate
from hub.domain.learners import Learner
from hub.domain.lti_platform import (
    LtiGradebook,
    LtiResult,
    LtiToolRegistration,
    gradebook_id,
    registration_id,
)
from hub.domain.quests import Quest
from hub.lti.platform.errors import LtiRejectedError
from hub.lti.platform.registrations import ToolContext, get

A = TypeVar("A", bound=HubAggregate)
TTL_S = 2.0
PEOPLE_TTL_S = 30.0
MAX_ENTRIES = 10_000


class RecentReads:
    def __init__(self, hub: Hub, *, ttl_s: float = TTL_S) -> None:
        self.hub = hub
        self._ttl = ttl_s
        self._entries: dict[str, tuple[float, Any]] = {}
        self._written: dict[str, LtiResult] = {}
        self._tenants: set[str] = set()  # tenants are never removed: known once, known
        self._lock = threading.Lock()

    def get(self, aggregate_id: str, cls: type[A], *, ttl_s: float | None = None) -> A | None:
        """The aggregate as read at most `ttl_s` ago (default: the reads' own; an absent one
        is asked again after that default). Read-only: never change and save it."""
        entry = self._entries.get(aggregate_id)
        now = time.monotonic()
        if entry is not None and now < entry[0]:
            found: A | None = entry[1]
            return found
        found = get(self.hub, aggregate_id, cls)
        keep = ttl_s if found is not None and ttl_s is not None else self._ttl
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[aggregate_id] = (now + keep, found)
        return found

    def person(self, learner_id: str) -> Learner | None:
        """A person of the tenant: kept `PEOPLE_TTL_S`, their links to other systems change
        rarely (and only the Spark id a score carries for passback depends on them)."""
        found = self.get(learner_id, Learner, ttl_s=PEOPLE_TTL_S)
        return found if isinstance(found, Learner) else None

    def holds(self, *aggregate_ids: str) -> bool:
        """Whether reading these now would touch no store (each still kept)."""
        now = time.monotonic()
        entries = [self._entries.get(the_id) for the_id in aggregate_ids]
        return all(entry is not None and now < entry[0] for entry in entries)

    def forget(self, aggregate_id: str) -> None:
        with self._lock:
            self._entries.pop(aggregate_id, None)

    def last_written(self, the_id: str) -> LtiResult | None:
        """A copy of the result as this process last wrote it (maybe stale: its commit says)."""
        written = self._written.get(the_id)
        return copy.deepcopy(written) if written is not None else None

    def remember_written(self, result: LtiResult) -> None:
        """Keep `result` as saved; its writer must not change it after (`last_written`
        hands out copies)."""
        with self._lock:
            if len(self._written) >= MAX_ENTRIES:
                self._written.clear()
            self._written[result.id] = result

    def forget_written(self, the_id: str) -> None:
        with self._lock:
            self._written.pop(the_id, None)

    def knows(self, tenant: str) -> bool:
        """Known to exist without a read (a tenant once seen)."""
        return tenant in self._tenants

    def tenant_exists(self, tenant: str) -> bool:
        if tenant in self._tenants:
            return True
        if self.hub.tenant(tenant) is None:
            return False
        with self._lock:
            self._tenants.add(tenant)
        return True

    def registration(self, tenant: str, client_id: str) -> LtiToolRegistration:
        found = self.get(registration_id(tenant, client_id), LtiToolRegistration)
        if found is None:
            raise LtiRejectedError("registration_unknown", f"no tool has client_id {client_id!r}")
        return found

    def gradebook(self, at: ToolContext) -> LtiGradebook:
        """The gradebook of a context where the tool has a link: its services see no other."""
        found = self.get(gradebook_id(at.tenant, at.client_id, at.context_id), LtiGradebook)
        if found is None:
            raise LtiRejectedError(
                "context_unknown", f"the tool has no link in a context {at.context_id[:64]!r}"
            )
        return found

    def quest(self, tenant: str, context_id: str) -> Quest:
        found = self.get(f"{tenant}.Quest.{context_id}", Quest) if len(context_id) == 32 else None
        if found is None:
            raise LtiRejectedError("context_unknown", f"no context {context_id[:64]!r}")
        return found
