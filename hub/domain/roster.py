"""Rosters from SIS systems: an import's events, and the hub ids roster records map onto.

A roster import is one `RosterImport` aggregate. Its records travel in batches, one
event per batch (`RecordsApplied`, up to 500 records of one entity type), never one
event per row: a bundle of 100,000 users and 1,000,000 enrolments is ~2,200 messages,
each a single-event commit (~0.6 ms), where an event per row would be 1.1 million.
Each batch names its columns once and carries its records as CSV text in that order
(`encode_rows`), so keys are not repeated 500 times and JSON encodes one string. A
batch stands alone (source ids, checksums, every field; hub ids follow from them): the
roster projection and an auditor need nothing else.

The id map is (tenant, source system, entity type, source id) -> hub id, derived,
never stored first: users map onto `Learner` ids and classes onto `Quest` ids of the
source system, other entities onto ids of their own type. The checksum of a record
covers every column but `status` and `dateLastModified`, so an unchanged row of a
re-imported bundle is recognised and records nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from hashlib import blake2b
from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id
from hub.domain.learners import learner_id
from hub.domain.quests import quest_id

SOURCE = "oneroster"
"""The event source of roster changes (`EventContext.source`, the portfolio's source mark)."""

Row = list[str]
"""An upserted record: its checksum (16 hex digits), then its cells in the order of the
batch's `columns`. A record's hub id is `hub_id(tenant, system, entity, sourcedId)`:
derived, so not carried (a uuid5 per row was a fifth of an import's time)."""


def encode_rows(rows: Iterable[Row]) -> str:
    """A batch's rows as RFC 4180 CSV text: one string is what JSON encodes fastest (a
    list of 500 lists of cells took four times as long), and it reads as the bundle did."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def decode_rows(columns: Sequence[str], text: str) -> list[tuple[str, dict[str, str]]]:
    """(checksum, {column: cell} of the non-empty cells) of each row of `encode_rows`."""
    return [
        (row[0], {column: cell for column, cell in zip(columns, row[1:], strict=True) if cell})
        for row in csv.reader(io.StringIO(text))
    ]


def hub_id(tenant: str, system: str, entity: str, sourced_id: str) -> str:
    """The hub id of record `sourced_id` of `entity` (a 1.2 file name) from `system`."""
    if entity == "users":
        return learner_id(tenant, system, sourced_id)
    if entity == "classes":
        return quest_id(tenant, system, sourced_id)
    return aggregate_id(tenant, f"Roster-{entity}", system, sourced_id)


def key_of(sourced_id: str) -> int:
    """A 64-bit key for a source id: sets and maps of a million of them stay small."""
    return int.from_bytes(blake2b(sourced_id.encode(), digest_size=8).digest(), "big")


def checksum(values: Iterable[str]) -> int:
    """The 64-bit checksum of a record's values (in its file's column order)."""
    return int.from_bytes(blake2b("\x1f".join(values).encode(), digest_size=8).digest(), "big")


def import_id(tenant: str, job_id: str) -> str:
    return aggregate_id(tenant, "RosterImport", job_id)


class RosterImport(HubAggregate):
    """One import of a roster bundle (a CSV zip, or a pull from a OneRoster provider)."""

    @staticmethod
    def create_id(tenant: str, job_id: str, **_: object) -> str:
        return import_id(tenant, job_id)

    @event("Started")
    def __init__(
        self,
        tenant: str,
        job_id: str,
        source_system: str,
        modes: Mapping[str, str],
        bundle_sha256: str,
        origin: str,
    ) -> None:
        self.source_system = source_system
        self.finished = False

    @event("RecordsApplied")
    def apply_records(
        self, system: str, entity: str, columns: Sequence[str], rows: str, deletes: Sequence[str]
    ) -> None:
        """`rows`: the upserted records (`encode_rows`); `deletes`: sourcedIds."""

    @event("RowsRejected")
    def reject_rows(self, file: str, errors: Sequence[Mapping[str, Any]]) -> None:
        """Up to 500 error rows (file, row, column, code, message) of one file."""

    @event("Finished")
    def finish(self, stats: Mapping[str, Mapping[str, int]]) -> None:
        self.finished = True


def roster_client_id(tenant: str, client_id: str) -> str:
    return aggregate_id(tenant, "RosterClient", client_id)


class RosterClient(HubAggregate):
    """A consumer of the tenant's OneRoster REST API (OAuth2 client credentials)."""

    @staticmethod
    def create_id(tenant: str, client_id: str, **_: object) -> str:
        return roster_client_id(tenant, client_id)

    @event("Registered")
    def __init__(
        self, tenant: str, client_id: str, secret_sha256: str, scopes: Sequence[str], name: str
    ) -> None:
        self.client_id = client_id
        self.secret_sha256 = secret_sha256
        self.scopes = list(scopes)
        self.name = name


def sis_connection_id(tenant: str, name: str) -> str:
    return aggregate_id(tenant, "SisConnection", name)


class SisConnection(HubAggregate):
    """A tenant's SIS source (`name` is its source system in the id map): which connector,
    its configuration (secrets sealed), its cron schedule and the cursor of its last sync.

    Every sync that changed something, moved the cursor or failed is an event here; the
    changes themselves are the `RosterImport` it names.
    """

    @staticmethod
    def create_id(tenant: str, name: str, **_: object) -> str:
        return sis_connection_id(tenant, name)

    @event("Registered")
    def __init__(
        self,
        tenant: str,
        name: str,
        kind: str,
        config: Mapping[str, str],
        sealed_secret: str,
        schedule: str,
    ) -> None:
        self.name = name
        self.kind = kind
        self.config = dict(config)
        self.sealed_secret = sealed_secret
        self.schedule = schedule
        self.cursor: str | None = None
        self.last_run_at: str | None = None

    @event("SyncSucceeded")
    def sync_succeeded(
        self,
        job_id: str,
        mode: str,
        cursor: str | None,
        import_id: str | None,
        stats: Mapping[str, Mapping[str, int]],
        attempts: int,
        at: str,
    ) -> None:
        self.cursor = cursor
        self.last_run_at = at

    @event("SyncFailed")
    def sync_failed(self, job_id: str, mode: str, error: str, attempts: int, at: str) -> None:
        self.last_run_at = at


def precedence_id(tenant: str) -> str:
    return aggregate_id(tenant, "RosterPrecedence")


class RosterPrecedence(HubAggregate):
    """Which source wins when two disagree about a person, first first (a tenant's choice)."""

    @staticmethod
    def create_id(tenant: str, **_: object) -> str:
        return precedence_id(tenant)

    @event("Set")
    def __init__(self, tenant: str, systems: Sequence[str]) -> None:
        self.systems = list(systems)

    @event("Changed")
    def change(self, systems: Sequence[str]) -> None:
        self.systems = list(systems)

    def rank(self, system: str) -> int:
        """Lower wins; a system not listed comes after every listed one."""
        return self.systems.index(system) if system in self.systems else len(self.systems)


def conflict_id(tenant: str, learner_id: str, system: str) -> str:
    return aggregate_id(tenant, "RosterConflict", learner_id, system)


class RosterConflict(HubAggregate):
    """A source disagreeing with a person's profile: what each says, and who won."""

    @staticmethod
    def create_id(tenant: str, learner_id: str, system: str, **_: object) -> str:
        return conflict_id(tenant, learner_id, system)

    @event("Reported")
    def __init__(
        self,
        tenant: str,
        learner_id: str,
        system: str,
        other: str,
        fields: Mapping[str, Sequence[str]],
        applied: bool,
    ) -> None:
        self.fields = dict(fields)

    @event("Changed")
    def change(self, other: str, fields: Mapping[str, Sequence[str]], applied: bool) -> None:
        self.fields = dict(fields)


def roster_enrolment_id(tenant: str, system: str, sourced_id: str) -> str:
    return aggregate_id(tenant, "RosterEnrolment", system, sourced_id)


class RosterEnrolment(HubAggregate):
    """Which learner and quest a source system's enrolment record enrolled, so that the
    record's deletion (which carries only its sourcedId) drops that enrolment and no other."""

    @staticmethod
    def create_id(tenant: str, system: str, sourced_id: str, **_: object) -> str:
        return roster_enrolment_id(tenant, system, sourced_id)

    @event("Recorded")
    def __init__(
        self, tenant: str, system: str, sourced_id: str, learner_id: str, quest_id: str
    ) -> None:
        self.learner_id = learner_id
        self.quest_id = quest_id
        self.active = True

    @event("Moved")
    def move(self, learner_id: str, quest_id: str) -> None:
        """The record (again) enrols this learner in this quest."""
        self.learner_id = learner_id
        self.quest_id = quest_id
        self.active = True

    @event("Ended")
    def end(self) -> None:
        self.active = False
