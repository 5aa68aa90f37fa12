"""The OneRoster CSV connector: a folder a SIS drops bundles into (or one upload).

`path` is either a folder holding a bundle's files (manifest.csv and the rest) or a
folder of `.zip` bundles, of which the newest is taken. The manifest says bulk or
delta per file, so a snapshot and a delta are fetched the same way; the cursor is the
bundle's SHA-256, and a bundle already imported imports again as "no changes".
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.sis.contract import Capabilities, Fetched, SisConfigError
from hub.roster.bundle import MANIFEST, RowSource, open_bundle
from schemas.oneroster import FILES


class CsvFolderConnector:
    kind = "oneroster-csv"

    def __init__(self, config: Mapping[str, str]) -> None:
        self.path = Path(config.get("path", ""))

    def validate_config(self) -> list[str]:
        if not str(self.path) or not self.path.is_dir():
            return [f"path {str(self.path)!r} is not a folder"]
        return []

    def discover_capabilities(self) -> Capabilities:
        return Capabilities(entities=tuple(FILES), delta=True)

    def _bundle(self) -> RowSource:
        if (self.path / MANIFEST).exists():
            return open_bundle(self.path)
        zips = sorted(self.path.glob("*.zip"), key=lambda p: (p.stat().st_mtime, p.name))
        if not zips:
            msg = f"no manifest.csv and no .zip bundle in {self.path}"
            raise SisConfigError(msg)
        return open_bundle(zips[-1])

    def fetch_snapshot(self, cursor: str | None = None) -> Fetched:
        source = self._bundle()
        return Fetched(source=source, cursor=source.sha256(), mode="snapshot")

    def fetch_delta(self, since: str) -> Fetched:
        fetched = self.fetch_snapshot()
        fetched.mode = "delta"
        return fetched

    def normalize(self, entity: str, raw: Mapping[str, Any]) -> dict[str, str]:
        return {column: str(raw.get(column, "")) for column in FILES[entity].header}

    def close(self) -> None:
        """Nothing is held between fetches."""
