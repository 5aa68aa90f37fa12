"""Subjects of the event stream: who wrote what, for which tenant, on which aggregate.

    <prefix>.ev.<app>.<tenant>.<type>.<id>     an aggregate's events
    <prefix>.snap.<app>.<tenant>.<type>.<id>   its snapshots (a stream of their own)
    <prefix>.trk.<app>.<upstream>              a process application's tracking positions
    <prefix>.audit.<tenant>.<kind>             rejected signals (a stream with its own limits)

Hub aggregates have string ids `<tenant>.<Type>.<uuid hex>`, so that a consumer, an
auditor or a rebuild can filter by tenant or aggregate type on the server. A UUID id
(the library's default) becomes `_._.<hex>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_STR_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$")
_UUID_PREFIX = "_._."


class SubjectError(ValueError):
    """Raised for an id or name that cannot be a subject token."""


def token(name: str) -> str:
    """An application or upstream name as one subject token."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]", "_", name.strip()).lower()
    if not cleaned or not _TOKEN.match(cleaned):
        msg = f"cannot use {name!r} as a subject token"
        raise SubjectError(msg)
    return cleaned


def is_aggregate_id(text: str) -> bool:
    """Whether `text` is a well-formed string aggregate id ('<tenant>.<Type>.<id>')."""
    return _STR_ID.match(text) is not None


def id_to_tokens(originator_id: UUID | str) -> str:
    if isinstance(originator_id, UUID):
        return _UUID_PREFIX + originator_id.hex
    if not _STR_ID.match(originator_id):
        msg = (
            f"aggregate id {originator_id!r} must be '<tenant>.<Type>.<id>' "
            "with letters, digits, '-' or '_' in each part"
        )
        raise SubjectError(msg)
    return originator_id


def tokens_to_id(tokens: str) -> UUID | str:
    if tokens.startswith(_UUID_PREFIX):
        return UUID(hex=tokens[len(_UUID_PREFIX) :])
    return tokens


@dataclass(frozen=True)
class Subjects:
    """The subject layout of one stream prefix, for one application."""

    prefix: str
    app: str

    @property
    def events_stream(self) -> str:
        return f"{self.prefix.upper()}_EVENTS"

    @property
    def snapshots_stream(self) -> str:
        return f"{self.prefix.upper()}_SNAPSHOTS"

    @property
    def audit_stream(self) -> str:
        return f"{self.prefix.upper()}_AUDIT"

    @property
    def app_events(self) -> str:
        """Filter for every event this application recorded."""
        return f"{self.prefix}.ev.{self.app}.>"

    def all_events(self, tenant: str = "*", app: str = "*") -> str:
        return f"{self.prefix}.ev.{app}.{tenant}.>"

    def event(self, originator_id: UUID | str) -> str:
        return f"{self.prefix}.ev.{self.app}.{id_to_tokens(originator_id)}"

    def snapshot(self, originator_id: UUID | str) -> str:
        return f"{self.prefix}.snap.{self.app}.{id_to_tokens(originator_id)}"

    def tracking(self, upstream: str) -> str:
        return f"{self.prefix}.trk.{self.app}.{token(upstream)}"

    def originator_of(self, subject: str) -> UUID | str:
        """The aggregate id of an event or snapshot subject (any application)."""
        parts = subject.split(".", 3)
        return tokens_to_id(parts[3])


def stream_configs(prefix: str) -> list[dict[str, object]]:
    """The streams of a prefix.

    Events: no limits, `discard: new`, no deletes or purges (rollups need purge, so
    tracking positions accumulate: they are small). Snapshots: derived data, the five
    newest per aggregate. Audit: rejected signals, bounded so an attack cannot grow it
    without end.
    """
    upper = prefix.upper()
    return [
        {
            "name": f"{upper}_EVENTS",
            "subjects": [f"{prefix}.ev.>", f"{prefix}.trk.>"],
            "storage": "file",
            "retention": "limits",
            "discard": "new",
            "deny_delete": True,
            "deny_purge": True,
            "allow_atomic": True,
            "allow_direct": True,
            "duplicate_window": 120_000_000_000,
        },
        {
            "name": f"{upper}_SNAPSHOTS",
            "subjects": [f"{prefix}.snap.>"],
            "storage": "file",
            "retention": "limits",
            "discard": "old",
            "max_msgs_per_subject": 5,
            "allow_direct": True,
            "allow_atomic": True,
        },
        {
            "name": f"{upper}_AUDIT",
            "subjects": [f"{prefix}.audit.>"],
            "storage": "file",
            "retention": "limits",
            "discard": "old",
            "max_age": 90 * 24 * 3600 * 1_000_000_000,
            "max_bytes": 1 << 30,
            "allow_direct": True,
        },
    ]
