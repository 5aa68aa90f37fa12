"""SIS connections of tenants: registering one, finding them all, building their connectors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from eventsourcing.application import AggregateNotFoundError, Application

from connectors.sis.contract import SisConnector
from connectors.sis.cron import Cron
from connectors.sis.csv_folder import CsvFolderConnector
from connectors.sis.rest_pull import RestPullConnector
from hub.application import Hub
from hub.domain.roster import (
    RosterPrecedence,
    SisConnection,
    precedence_id,
    sis_connection_id,
)
from infra.http import guarded_client
from infra.jetstream.recorders import JetStreamApplicationRecorder
from infra.secrets import SecretBox

KINDS = (CsvFolderConnector.kind, RestPullConnector.kind)
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class ConnectionExistsError(Exception):
    """Raised when the tenant already has a connection of that name."""


def _sealing(tenant: str, name: str) -> str:
    return f"{tenant}:sis:{name}"


def register_connection(
    hub: Hub,
    box: SecretBox,
    *,
    tenant: str,
    name: str,
    kind: str,
    config: Mapping[str, str],
    secret: str = "",
    schedule: str = "",
) -> SisConnection:
    """Record a new connection; raises ValueError for a bad name, kind or schedule."""
    if not NAME.match(name):
        raise ValueError(f"name {name!r} must be 1-40 lowercase letters, digits or '-'")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if schedule:
        Cron.parse(schedule)
    if sis_connection_id(tenant, name) in hub.repository:
        raise ConnectionExistsError(f"tenant {tenant!r} already has a connection {name!r}")
    sealed = box.encrypt(secret, context=_sealing(tenant, name)) if secret else ""
    connection = SisConnection(tenant, name, kind, dict(config), sealed, schedule)
    hub.save(connection)
    return connection


def connector_factory(
    box: SecretBox, client: Callable[[SisConnection], httpx.Client] | None = None
) -> Callable[[SisConnection], SisConnector]:
    """Builds a connection's connector (REST pulls through an SSRF-guarded client that
    allows only the hosts the configuration names in `allow_hosts`)."""

    def default_client(connection: SisConnection) -> httpx.Client:
        hosts = [h for h in connection.config.get("allow_hosts", "").split(",") if h]
        return guarded_client(allowed_hosts=hosts)

    make_client = client or default_client

    def build(connection: SisConnection) -> SisConnector:
        if connection.kind == CsvFolderConnector.kind:
            return CsvFolderConnector(connection.config)
        secret = ""
        if connection.sealed_secret:
            secret = box.decrypt(
                connection.sealed_secret, context=_sealing(connection.tenant, connection.name)
            )
        return RestPullConnector(connection.config, secret, make_client(connection))

    return build


def _events(
    hub: Application[str], aggregate_type: str, tenant: str | None = None
) -> Iterator[dict[str, Any]]:
    """The hub's events of one aggregate type (of one tenant), read by subject."""
    recorder = hub.recorder
    if not isinstance(recorder, JetStreamApplicationRecorder):  # pragma: no cover
        return iter(())
    from hub.replay import ReplayFilter, replay  # noqa: PLC0415 - JetStream only

    return replay(
        recorder.connection,
        recorder.subjects.prefix,
        ReplayFilter(app=hub.name, aggregate_type=aggregate_type, tenant=tenant),
    )


def conflicts(hub: Application[str], tenant: str) -> list[dict[str, Any]]:
    """The tenant's latest report of each (learner, source) disagreement."""
    latest: dict[str, dict[str, Any]] = {}
    for record in _events(hub, "RosterConflict", tenant):
        data = record["data"]
        reported = latest.setdefault(
            record["aggregate_id"],
            {"learnerId": data.get("learner_id"), "system": data.get("system")},
        )
        reported.update(
            owner=data["other"],
            fields=data["fields"],
            applied=data["applied"],
            reportedAt=record["recorded_at"],
        )
    return sorted(latest.values(), key=lambda r: (str(r["learnerId"]), str(r["system"])))


def set_precedence(hub: Hub, tenant: str, systems: Sequence[str]) -> RosterPrecedence:
    """Set which sources win disagreements about a person, first first."""
    found: RosterPrecedence | None
    try:
        found = hub.repository.get(precedence_id(tenant))
    except AggregateNotFoundError:
        found = None
    if found is None:
        found = RosterPrecedence(tenant, list(systems))
    elif found.systems != list(systems):
        found.change(list(systems))
    hub.save(found)
    return found


def all_connections(hub: Application[str]) -> list[tuple[str, str]]:
    """Every (tenant, connection name), read by subject on JetStream."""
    records = _events(hub, "SisConnection")
    found = set()
    for record in records:
        if str(record["event_type"]).endswith("Registered"):
            found.add((str(record["tenant"]), str(record["data"]["name"])))
    return sorted(found)
