"""What the audit search takes and answers: filters, verdict rows and a page's next cursor.

The cursor is the key (recorded_at, log, position) of a page's last row, as base64url
JSON: opaque to callers, checked when it comes back.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
Verdict = Literal["accepted", "rejected", "admin"]
CursorKey = tuple[str, str, int]
"""(recorded_at, log, position) of the last row of a page."""
TENANT_FILTER = r"^(_unknown|[a-z0-9][a-z0-9-]{0,39})$"
# Printable text only: PostgreSQL refuses NUL in a string, and no name holds a control.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE)]
LOGS = ("events", "audit")
MAX_POSITION = 2**63 - 1


class InvalidCursorError(ValueError):
    """Raised for a cursor that no page of the audit search gave."""


def encode_cursor(key: CursorKey) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> CursorKey:
    msg = "cursor is not one this API gave"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        recorded_at, log, position = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:  # UnicodeDecodeError is one
        raise InvalidCursorError(msg) from error
    if not (
        isinstance(recorded_at, str)
        and log in LOGS
        and type(position) is int
        and 0 <= position <= MAX_POSITION
    ):
        raise InvalidCursorError(msg)
    try:
        datetime.fromisoformat(recorded_at)
    except ValueError as error:
        raise InvalidCursorError(msg) from error
    return recorded_at, log, position


class AuditQuery(BaseModel):
    """What to find; every filter narrows, none means every verdict. Times are inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: Annotated[
        str | None,
        Field(
            pattern=TENANT_FILTER,
            description="Tenant slug, or `_unknown` for rejections that named no known tenant",
        ),
    ] = None
    source: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=100,
            pattern=PRINTABLE,
            description="A source or a family of sources: `spark` finds `spark`, "
            "`spark:course-sync` and `spark:submission`",
        ),
    ] = None
    verdict: Verdict | None = None
    reason: Text | None = Field(
        default=None, description="A rejection's reason code, or how a signal was verified"
    )
    event_type: Text | None = Field(default=None, description="Event type (`Tenant.Registered`)")
    since: datetime | None = Field(default=None, description="ISO 8601 with a time zone")
    until: datetime | None = Field(default=None, description="ISO 8601 with a time zone")
    cursor: Annotated[str | None, Field(max_length=400, description="`next_cursor` of a page")] = (
        None
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "give a time zone (Z or +hh:mm)"
            raise ValueError(msg)
        try:
            return value.astimezone(UTC)
        except OverflowError as error:
            msg = "out of range once in UTC"
            raise ValueError(msg) from error

    @field_validator("cursor")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None:
            decode_cursor(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> AuditQuery:
        if self.since is not None and self.until is not None and self.since > self.until:
            msg = "since is after until"
            raise ValueError(msg)
        return self


class AuditEntry(BaseModel):
    """One verdict: where it is in its log, when, whose, from where, which and why."""

    log: Literal["events", "audit"] = Field(
        description="`events` (the event log) or `audit` (the stream of rejections)"
    )
    position: int = Field(description="Sequence in that log")
    recorded_at: datetime
    tenant: str
    source: str
    verdict: Verdict
    reason: str | None
    event_type: str | None
    actor: str | None = Field(description="For admin actions: how the caller was verified")
    correlation_id: str | None
    summary: str


class AuditResults(BaseModel):
    """A page of verdicts, newest first; `next_cursor` is null on the last page."""

    entries: list[AuditEntry]
    next_cursor: str | None
