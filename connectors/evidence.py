"""The evidence connector: each received submission's files into blob storage, one event each.

`evidence` follows the hub's `Submission.Received`. A URL file is downloaded with the
SSRF guard (the tenant's Spark connection may allow-list hosts), under a size limit,
retried on timeouts, connection errors and 5xx, and kept only if its bytes are what its
declared type says. A file the ingress embedded is already in blob storage: it is only
looked for. Then one `EvidenceCollection.Collected` lists every file, stored or rejected
with a reason; a rejection is part of that event, never an error of the connector.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import structlog
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.projection import EventSourcedProjection
from eventsourcing.utils import get_topic

from connectors.domain import REJECTED, STORED, EvidenceCollection, caused_by, topic_of
from connectors.evidence_fetch import (
    BLOB_MISSING,
    INVALID_ENTRY,
    TYPE_MISMATCH,
    FetchLimits,
    FileRejectedError,
    fetch,
)
from connectors.runner import ProcessSpec, Upstreams
from hub.domain.base import event_context, tenant_of
from hub.domain.spark import spark_connection_id
from hub.domain.submissions import Submission
from infra.blobs import BlobStore, FolderBlobStore
from infra.http import guarded_client
from infra.settings import Settings
from infra.sniff import matches

NAME = "evidence"
RECEIVED = topic_of(Submission, "Received")
log = structlog.get_logger(__name__)


class EvidenceCollector(EventSourcedProjection[str]):
    """The `evidence` process application."""

    name = NAME
    topics = (RECEIVED,)

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        hub: Application[Any],
        blobs: BlobStore,
        limits: FetchLimits | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        super().__init__(dict(env))
        self.hub = hub
        self.blobs = blobs
        self.limits = limits or FetchLimits()
        self.sleep = sleep

    def policy(
        self,
        domain_event: DomainEventProtocol[Any],
        processing_event: ProcessingEvent[Any],
    ) -> None:
        if get_topic(type(domain_event)) != RECEIVED:
            return
        received: Any = domain_event
        tenant = tenant_of(received.originator_id)
        files = self._collect(tenant, received.files)
        with event_context(caused_by(received, source=NAME)):
            collection = EvidenceCollection(
                tenant=tenant, submission_id=received.originator_id, files=files
            )
        processing_event.collect_events(collection)
        log.info(
            "evidence.collected",
            tenant_id=tenant,
            correlation_id=received.context.get("correlation_id"),
            submission_id=received.originator_id,
            stored=len(collection.stored),
            rejected=sorted({f["reason"] for f in collection.rejected}),
        )

    def _collect(self, tenant: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        with ExitStack() as stack:
            client: httpx.Client | None = None
            files = []
            for index, entry in enumerate(entries):
                declared_type = str(entry.get("type", ""))
                base = {
                    "index": index,
                    "filename": str(entry.get("filename", "")),
                    "type": declared_type,
                    "origin": "url" if entry.get("url") else "embedded",
                }
                try:
                    if entry.get("url"):
                        if client is None:
                            client = stack.enter_context(self._client(tenant))
                        stored = self._download(client, str(entry["url"]), declared_type)
                    else:
                        stored = self._embedded(entry)
                except FileRejectedError as error:
                    files.append(
                        {**base, "status": REJECTED, "reason": error.reason, "detail": error.detail}
                    )
                else:
                    files.append({**base, "status": STORED, **stored})
            return files

    def _client(self, tenant: str) -> httpx.Client:
        try:
            connection: Any = self.hub.repository.get(spark_connection_id(tenant))
            allowed = list(connection.allowed_evidence_hosts)
        except AggregateNotFoundError:
            allowed = []
        timeout = httpx.Timeout(self.limits.timeout_s, connect=min(5.0, self.limits.timeout_s))
        return guarded_client(
            allowed_hosts=allowed, timeout=timeout, max_redirects=self.limits.max_redirects
        )

    def _download(self, client: httpx.Client, url: str, declared_type: str) -> dict[str, Any]:
        data = fetch(client, url, self.limits, sleep=self.sleep)
        if not matches(declared_type, data):
            msg = f"the bytes are not {declared_type!r}"
            raise FileRejectedError(TYPE_MISMATCH, msg)
        blob = self.blobs.put(data, declared_type)
        return {"blob": blob.sha256, "size": blob.size}

    def _embedded(self, entry: dict[str, Any]) -> dict[str, Any]:
        sha256 = entry.get("blob")
        if not isinstance(sha256, str):
            raise FileRejectedError(INVALID_ENTRY, "neither a URL nor a stored blob")
        try:
            found = self.blobs.exists(sha256)
        except ValueError as error:
            raise FileRejectedError(INVALID_ENTRY, str(error)) from error
        if not found:
            raise FileRejectedError(BLOB_MISSING, "the embedded file is not in blob storage")
        return {"blob": sha256, "size": int(entry.get("size", 0))}


def data_dir(env: Mapping[str, str]) -> Path:
    """`HUB_DATA_DIR` from the applications' environment, else from the process's settings."""
    configured = env.get("HUB_DATA_DIR") or os.environ.get("HUB_DATA_DIR")
    return Path(configured) if configured else Settings().data_dir


def build(env: Mapping[str, str], upstreams: Upstreams) -> EvidenceCollector:
    return EvidenceCollector(
        env, hub=upstreams["hub"], blobs=FolderBlobStore(data_dir(env) / "blobs")
    )


SPEC = ProcessSpec(NAME, build, upstreams=("hub",))
