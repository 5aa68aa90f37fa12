"""The SIS connector contract (interoperability plan §7.2), as the hub splits it.

    validate_config()        what is wrong with the connection's configuration
    discover_capabilities()  which entities it delivers, and whether it has deltas
    fetch_snapshot(cursor)   everything, as a OneRoster 1.2 bundle (`RowSource`)
    fetch_delta(since)       what changed since a cursor, as a delta bundle
    normalize(entity, raw)   one source record as canonical 1.2 CSV cells
    close()                  let go of connections

`upsert_batch` and `export_batch` are the hub's side and the same for every connector:
the sync engine checks, diffs and records batches of 500 records
(`hub.roster.importer`, `hub.roster.log.ImportLog`), and the roster read model and the
REST publisher export (`projections.roster.record_pages`, `hub.roster.rest_routes`).

Errors: `SisUnavailableError` (the source could not be reached or answered 5xx: the
engine retries) and `SisConfigError` (the configuration cannot work: no retry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from hub.roster.bundle import RowSource


class SisError(Exception):
    """The base of connector errors."""


class SisUnavailableError(SisError):
    """Raised when the source cannot be reached or fails for now (retried)."""


class SisConfigError(SisError):
    """Raised when the connection's configuration cannot work (not retried)."""


@dataclass(frozen=True)
class Capabilities:
    entities: tuple[str, ...]
    delta: bool


@dataclass
class Fetched:
    """A bundle the engine imports, and the cursor to keep once it is imported."""

    source: RowSource
    cursor: str | None
    mode: str  # "snapshot" or "delta"

    def close(self) -> None:
        self.source.close()


class SisConnector(Protocol):
    kind: str

    def validate_config(self) -> list[str]: ...

    def discover_capabilities(self) -> Capabilities: ...

    def fetch_snapshot(self, cursor: str | None = None) -> Fetched: ...

    def fetch_delta(self, since: str) -> Fetched: ...

    def normalize(self, entity: str, raw: Mapping[str, Any]) -> dict[str, str]: ...

    def close(self) -> None:
        """Let go of what the connector holds (its HTTP client)."""
