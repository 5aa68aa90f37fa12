"""The audit read model: one row per verdict, accepted or rejected signal or admin action.

It follows the hub's and the roster's logs (accepted signals and admin actions, told
apart by the `source` of their `EventContext`) and the audit stream of rejections
(`projections.audit_stream`). Rows are keyed by the log they come from and its
position (`events` for the event stream, whose sequences the hub's and the roster's
logs share, `audit` for the audit stream), so a rebuild gives the same rows in any order.

Which events are verdicts is `hub.audit.verdict_of`: admin actions (source `admin` or
`<channel>:admin`; the actor is how the caller was verified: `admin-token`,
`client:<client_id>`), accepted signals (any other source but what the hub derives
itself; the reason is how the signal was verified). Every audit stream message is a
rejection; its source is its kind, channel first (`spark:submission`, `lti-launch`,
`accounts:sign-in`...), its
reason the stable reason code.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table

from hub.audit import reason_of, rejection_source, verdict_of
from hub.domain.base import tenant_of
from projections.audit_stream import AUDIT_UPSTREAM, RejectionRecorded
from projections.view import SqlView

NAME = "audit"
UPSTREAMS = ("hub", "roster", AUDIT_UPSTREAM)
EVENTS_LOG = "events"
AUDIT_LOG = "audit"
SUMMARY_MAX = 500


def stamp(moment: datetime) -> str:
    """A time as the read model stores it: UTC ISO 8601 with microseconds, so text order
    is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class AuditView(SqlView):
    """`audit_v<N>`: one row per verdict, indexed for each filter with time order."""

    projection_name = NAME

    def define_tables(self, metadata: MetaData) -> None:
        name = self.table_name()
        self.rows = Table(
            name,
            metadata,
            Column("log", String(10), primary_key=True),
            Column("position", BigInteger, primary_key=True),
            Column("recorded_at", String(40), nullable=False),
            Column("tenant", String(64), nullable=False),
            Column("source", String(100), nullable=False),
            Column("verdict", String(10), nullable=False),
            Column("reason", String(100), nullable=True),
            Column("event_type", String(200), nullable=True),
            Column("actor", String(200), nullable=True),
            Column("correlation_id", String(100), nullable=True),
            Column("summary", String(SUMMARY_MAX), nullable=False),
        )
        order = ("recorded_at", "log", "position")
        Index(f"{name}_time", *(self.rows.c[c] for c in order))
        for column in ("tenant", "source", "verdict", "reason", "event_type"):
            Index(f"{name}_{column}", self.rows.c[column], *(self.rows.c[c] for c in order))


def _event_row(domain_event: Any, tracking: Tracking) -> dict[str, Any] | None:
    context: dict[str, str] | None = getattr(domain_event, "context", None)
    if not isinstance(context, dict):
        return None
    verdict = verdict_of(context)
    if verdict is None:
        return None
    event_type = type(domain_event).__qualname__
    originator = str(domain_event.originator_id)
    return {
        "log": EVENTS_LOG,
        "position": tracking.notification_id,
        "recorded_at": stamp(domain_event.timestamp),
        "tenant": tenant_of(originator),
        "source": context.get("source", "")[:100],
        "verdict": verdict,
        "reason": reason_of(context, verdict),
        "event_type": event_type,
        "actor": context.get("verified_by") if verdict == "admin" else None,
        "correlation_id": context.get("correlation_id"),
        "summary": f"{event_type} {originator} v{domain_event.originator_version}"[:SUMMARY_MAX],
    }


def _rejection_row(rejection: RejectionRecorded, tracking: Tracking) -> dict[str, Any]:
    request_id = rejection.evidence.get("request_id")
    return {
        "log": AUDIT_LOG,
        "position": tracking.notification_id,
        "recorded_at": stamp(datetime.fromisoformat(rejection.received_at)),
        "tenant": rejection.tenant[:64],
        "source": rejection_source(rejection.kind)[:100],
        "verdict": "rejected",
        "reason": rejection.reason[:100],
        "event_type": None,
        "actor": None,
        "correlation_id": None if request_id is None else str(request_id)[:100],
        "summary": rejection.detail[:SUMMARY_MAX],
    }


class AuditProjection(Projection[AuditView]):
    """Every notification moves its log's position; verdicts add a row."""

    name = NAME
    topics = ()

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if isinstance(domain_event, RejectionRecorded):
            row: dict[str, Any] | None = _rejection_row(domain_event, tracking)
        else:
            row = _event_row(domain_event, tracking)
        with self.view.changing(tracking) as conn:
            if row is not None:
                conn.execute(self.view.rows.insert().values(**row))
