"""What the roster's command line and routes need from the roster read model (a port)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from hub.roster.importer import RosterState
from hub.roster.rest_model import Source
from hub.roster.rest_query import SqlPlan


class RosterReadModel(RosterState, Protocol):
    """The roster read model as the import, the export and the admin routes use it
    (`projections.roster.SqlRosterReadModel`)."""

    def wait_for(self, position: int, timeout: float = 30.0) -> None:
        """Block until the read model has applied `position` of the `roster` log, or raise
        TimeoutError."""

    def pages(
        self, tenant: str, entity: str, system: str
    ) -> Iterator[list[tuple[str, dict[str, str]]]]:
        """`system`'s records of `entity` as (sourcedId, fields), a page at a time."""

    def imports(self, tenant: str) -> list[Any]:
        """The tenant's recorded imports, newest first."""

    def import_errors(self, tenant: str, import_id: str) -> list[dict[str, Any]] | None:
        """One import's error rows; None for an import the tenant does not have."""

    def sources(
        self,
        tenant: str,
        entity: str,
        *,
        sourced_id: str | None = None,
        class_ref: str | None = None,
        user_ref: str | None = None,
    ) -> Sequence[Source]:
        """The tenant's records of `entity` (every system), narrowed by id, class or user."""

    def collection_page(
        self, tenant: str, entity: str, plan: SqlPlan, *, offset: int, limit: int
    ) -> tuple[int, Sequence[Source]]:
        """(how many of the tenant's records of `entity` match `plan`, a page of them)."""

    def role_rows(
        self, tenant: str, users: Sequence[str] | None = None
    ) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, str, str]]]:
        """roles.csv records as (user, fields); distinct enrolment (user, role, school);
        of `users` only when given."""
