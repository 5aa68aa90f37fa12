"""What the roster's command line and routes need from the roster read model (a port)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from hub.roster.importer import RosterState


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
