"""The OneRoster REST connector: pulls a roster from another OneRoster 1.2 provider.

This is how PowerSchool and Infinite Campus deliver rosters. The connector takes a
token with OAuth2 client credentials, pages through each collection (`limit`/`offset`,
following the `Link` header's `next`), turns each resource back into 1.2 CSV cells
(`hub.roster.rest_model.to_fields`; users' roles become `roles.csv`) and writes them,
streaming, as a bundle in a temporary folder, which the engine imports like any other.
A delta asks for `dateLastModified>'<cursor>'`; the new cursor is the latest
`dateLastModified` seen.
"""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from connectors.sis.contract import Capabilities, Fetched, SisConfigError, SisUnavailableError
from hub.roster.bundle import FolderBundle
from hub.roster.rest_model import to_fields
from schemas.oneroster import FILES

PAGE = 500
PULLED = ("orgs", "academicSessions", "users", "courses", "classes", "enrollments")


class _PulledBundle(FolderBundle):
    """A bundle written to a temporary folder, removed when closed."""

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)


class RestPullConnector:
    kind = "oneroster-rest"

    def __init__(self, config: Mapping[str, str], secret: str, client: httpx.Client) -> None:
        self.base_url = config.get("base_url", "").rstrip("/")
        self.token_url = config.get("token_url", "")
        self.client_id = config.get("client_id", "")
        self.demographics = config.get("demographics") == "true"
        self.secret = secret
        self.client = client

    def validate_config(self) -> list[str]:
        problems = [
            f"{name} is required"
            for name, value in (
                ("base_url", self.base_url),
                ("token_url", self.token_url),
                ("client_id", self.client_id),
            )
            if not value
        ]
        if not self.secret:
            problems.append("the client secret is required")
        return problems

    def discover_capabilities(self) -> Capabilities:
        entities = (*PULLED, "demographics") if self.demographics else PULLED
        return Capabilities(entities=(*entities, "roles"), delta=True)

    def _send(self, method: str, url: str, **options: Any) -> httpx.Response:
        try:
            response = self.client.request(method, url, **options)
        except httpx.HTTPError as error:
            raise SisUnavailableError(f"{url}: {error}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise SisUnavailableError(f"{url}: HTTP {response.status_code}")
        if response.status_code in {401, 403}:
            raise SisConfigError(f"{url}: HTTP {response.status_code}: check the credentials")
        if response.status_code != 200:
            raise SisUnavailableError(f"{url}: HTTP {response.status_code}")
        return response

    def _token(self) -> str:
        response = self._send(
            "POST",
            self.token_url,
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self.secret),
        )
        return str(response.json()["access_token"])

    def _pages(self, collection: str, token: str, since: str | None) -> Iterator[dict[str, Any]]:
        params: dict[str, str | int] = {"limit": PAGE, "offset": 0, "sort": "sourcedId"}
        if since:
            params["filter"] = f"dateLastModified>'{since}'"
        while True:
            response = self._send(
                "GET",
                f"{self.base_url}/{collection}",
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
            found = response.json().get(collection, [])
            yield from found
            if len(found) < PAGE:
                return
            params["offset"] = int(params["offset"]) + PAGE

    def _fetch(self, since: str | None) -> Fetched:
        folder = Path(tempfile.mkdtemp(prefix="oneroster-pull-"))
        try:
            cursor = self._write(folder, since)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return Fetched(_PulledBundle(folder), cursor, "delta" if since else "snapshot")

    def _write(self, folder: Path, since: str | None) -> str | None:
        token = self._token()
        delta = since is not None
        entities = self.discover_capabilities().entities
        latest = since
        with _Writers(folder, entities, delta) as writers:
            for entity in entities:
                if entity == "roles":
                    continue
                for found in self._pages(entity, token, since):
                    writers.write(entity, self.normalize_resource(entity, found, delta))
                    stamp = str(found.get("dateLastModified", ""))
                    latest = max(latest or stamp, stamp)
                    if entity == "users":
                        for role in _roles(found, delta):
                            writers.write("roles", role)
        return latest

    def fetch_snapshot(self, cursor: str | None = None) -> Fetched:
        return self._fetch(None)

    def fetch_delta(self, since: str) -> Fetched:
        return self._fetch(since)

    def normalize(self, entity: str, raw: Mapping[str, Any]) -> dict[str, str]:
        return self.normalize_resource(entity, raw, delta=False)

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def normalize_resource(entity: str, raw: Mapping[str, Any], delta: bool) -> dict[str, str]:
        return to_fields(entity, raw, delta=delta)


def _roles(user: Mapping[str, Any], delta: bool) -> Iterator[dict[str, str]]:
    for role in user.get("roles") or []:
        org = str((role.get("org") or {}).get("sourcedId", ""))
        row = {
            "sourcedId": f"{user['sourcedId']}-{role.get('role')}-{org}",
            "userSourcedId": str(user["sourcedId"]),
            "roleType": str(role.get("roleType", "primary")),
            "role": str(role.get("role", "")),
            "orgSourcedId": org,
            "beginDate": str(role.get("beginDate", "")),
            "endDate": str(role.get("endDate", "")),
        }
        if delta:
            row["status"] = str(user.get("status", "active"))
            row["dateLastModified"] = str(user.get("dateLastModified", ""))
        yield row


class _Writers:
    """One CSV file per entity, and the manifest, in a folder."""

    def __init__(self, folder: Path, entities: tuple[str, ...], delta: bool) -> None:
        self.folder = folder
        self.entities = entities
        self.delta = delta
        self._files: dict[str, Any] = {}
        self._writers: dict[str, Any] = {}

    def __enter__(self) -> _Writers:
        for entity in self.entities:
            handle = (self.folder / f"{entity}.csv").open("w", encoding="utf-8", newline="")
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(FILES[entity].header)
            self._files[entity], self._writers[entity] = handle, writer
        return self

    def write(self, entity: str, fields: Mapping[str, str]) -> None:
        self._writers[entity].writerow([fields.get(c, "") for c in FILES[entity].header])

    def __exit__(self, *_: object) -> None:
        for handle in self._files.values():
            handle.close()
        mode = "delta" if self.delta else "bulk"
        with (self.folder / "manifest.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(["propertyName", "value"])
            writer.writerow(["manifest.version", "1.0"])
            writer.writerow(["oneroster.version", "1.2"])
            for name in FILES:
                writer.writerow([f"file.{name}", mode if name in self.entities else "absent"])
