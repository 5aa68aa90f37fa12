"""The evidence connector against a real NATS and a real loopback file server."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.domain import evidence_collection_id
from hub.application import Hub
from infra.blobs import FolderBlobStore
from tests.connectors.file_server import FileServer
from tests.connectors.world import (
    FAST,
    PDF,
    PNG,
    TENANT,
    Logs,
    connect_tenant,
    evidence_spec,
    running,
    sha256,
    submit,
    url_file,
)


def collect(
    hub: Hub,
    env: dict[str, str],
    logs: Logs,
    blobs: FolderBlobStore,
    files: list[dict[str, Any]],
    **submit_options: Any,
) -> list[dict[str, Any]]:
    """Submit `files`, run the evidence connector until it has collected them: the entries."""
    submission = submit(hub, "u1", "a1", files, **submit_options)
    with running(evidence_spec(blobs), env=env):
        collection = logs.wait(
            "evidence", evidence_collection_id(TENANT, submission), "the evidence collected"
        )
    assert collection.submission_id == submission
    entries: list[dict[str, Any]] = collection.files
    return entries


@pytest.fixture
def allow_loopback(hub: Hub) -> None:
    connect_tenant(hub, allowed_hosts=("127.0.0.1",))


@pytest.mark.usefixtures("allow_loopback")
def test_a_file_is_stored_under_its_checksum(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    url = files.serve("essay.pdf", PDF, "application/pdf")

    [entry] = collect(hub, env, logs, blobs, [url_file(url)])

    assert entry == {
        "index": 0,
        "filename": "essay.pdf",
        "type": "application/pdf",
        "origin": "url",
        "status": "stored",
        "blob": sha256(PDF),
        "size": len(PDF),
    }
    assert blobs.get(sha256(PDF)) == PDF
    assert files.count("/files/essay.pdf") == 1


@pytest.mark.usefixtures("allow_loopback")
def test_every_file_is_stored_or_rejected_in_one_event(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    embedded = blobs.put(PNG, "image/png")
    entries = [
        url_file(files.serve("essay.pdf", PDF, "application/pdf")),
        url_file(files.serve("photo.png", PDF, "image/png"), "image/png", "photo.png"),
        url_file(files.url("/huge/200000")),
        url_file(files.url("/huge-declared/200000")),
        {
            "blob": embedded.sha256,
            "size": embedded.size,
            "type": "image/png",
            "filename": "diagram.png",
            "embedded": True,
        },
        {
            "blob": sha256(b"never stored"),
            "size": 12,
            "type": "text/plain",
            "filename": "lost.txt",
            "embedded": True,
        },
    ]

    collected = collect(hub, env, logs, blobs, entries)

    assert [(e["index"], e["status"], e.get("reason")) for e in collected] == [
        (0, "stored", None),
        (1, "rejected", "type_mismatch"),
        (2, "rejected", "too_large"),
        (3, "rejected", "too_large"),
        (4, "stored", None),
        (5, "rejected", "blob_missing"),
    ]
    assert collected[4]["blob"] == embedded.sha256
    assert collected[4]["origin"] == "embedded"
    assert not blobs.exists(sha256(b"%PDF-1.7\n" + b"0" * (200000 - 9)))


@pytest.mark.usefixtures("allow_loopback")
def test_a_file_past_the_limit_is_not_read_to_its_end(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    [entry] = collect(hub, env, logs, blobs, [url_file(files.url("/huge/50000000"))])

    assert entry["reason"] == "too_large"
    assert f"more than {FAST.max_bytes} bytes" in entry["detail"]


@pytest.mark.usefixtures("allow_loopback")
def test_5xx_is_retried_until_the_file_comes(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    url = files.serve("late.pdf", PDF, "application/pdf", fail_first=FAST.attempts - 1)

    [entry] = collect(hub, env, logs, blobs, [url_file(url)])

    assert entry["status"] == "stored"
    assert entry["blob"] == sha256(PDF)
    assert files.count("/flaky/late.pdf") == FAST.attempts


@pytest.mark.usefixtures("allow_loopback")
def test_a_5xx_that_lasts_is_rejected_after_the_last_attempt(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    [entry] = collect(hub, env, logs, blobs, [url_file(files.url("/status/503"))])

    assert entry["reason"] == "http_503"
    assert f"after {FAST.attempts} attempts" in entry["detail"]
    assert files.count("/status/503") == FAST.attempts


@pytest.mark.usefixtures("allow_loopback")
@pytest.mark.parametrize("status", [403, 404, 410])
def test_4xx_is_not_retried(
    hub: Hub,
    env: dict[str, str],
    logs: Logs,
    blobs: FolderBlobStore,
    files: FileServer,
    status: int,
) -> None:
    [entry] = collect(hub, env, logs, blobs, [url_file(files.url(f"/status/{status}"))])

    assert entry["reason"] == f"http_{status}"
    assert files.count(f"/status/{status}") == 1


@pytest.mark.usefixtures("allow_loopback")
def test_a_server_too_slow_is_retried_then_rejected(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    files.serve("slow.pdf", PDF, "application/pdf")

    [entry] = collect(hub, env, logs, blobs, [url_file(files.url("/slow/slow.pdf"))])

    assert entry["reason"] == "download_failed"
    assert "ReadTimeout" in entry["detail"]
    assert files.count("/slow/slow.pdf") == FAST.attempts


def test_loopback_and_metadata_addresses_are_refused_without_the_allow_list(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    connect_tenant(hub)  # no allowed hosts
    url = files.serve("essay.pdf", PDF, "application/pdf")

    collected = collect(
        hub,
        env,
        logs,
        blobs,
        [
            url_file(url),
            url_file("http://169.254.169.254/latest/meta-data/iam"),
        ],
    )

    assert [e["reason"] for e in collected] == ["ssrf_blocked", "ssrf_blocked"]
    assert files.count("/files/essay.pdf") == 0


@pytest.mark.usefixtures("allow_loopback")
def test_the_allow_list_does_not_open_the_metadata_address(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore
) -> None:
    [entry] = collect(
        hub, env, logs, blobs, [url_file("http://169.254.169.254/latest/meta-data/iam")]
    )

    assert entry["reason"] == "ssrf_blocked"


@pytest.mark.usefixtures("allow_loopback")
def test_a_redirect_is_followed_through_the_guard(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    url = files.serve("essay.pdf", PDF, "application/pdf")
    entries = [
        url_file(files.redirect(url)),
        url_file(files.redirect("http://169.254.169.254/latest/meta-data/iam")),
    ]

    collected = collect(hub, env, logs, blobs, entries)

    assert [(e["status"], e.get("reason")) for e in collected] == [
        ("stored", None),
        ("rejected", "ssrf_blocked"),
    ]
    assert collected[0]["blob"] == sha256(PDF)


@pytest.mark.usefixtures("allow_loopback")
def test_a_url_that_cannot_be_fetched_is_rejected_not_raised(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore
) -> None:
    entries = [
        url_file("http://a..b/essay.pdf"),
        url_file(f"http://{'a' * 70}.example.org/essay.pdf"),
        url_file("ftp://files.example.org/essay.pdf"),
        {"type": "application/pdf", "filename": "neither.pdf"},
    ]

    collected = collect(hub, env, logs, blobs, entries)

    assert [e["reason"] for e in collected] == [
        "invalid_url",
        "invalid_url",
        "invalid_url",
        "invalid_entry",
    ]
    assert all("example.org" not in e["detail"] for e in collected)


def test_a_tenant_without_a_spark_connection_gets_no_allow_list(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore, files: FileServer
) -> None:
    url = files.serve("essay.pdf", PDF, "application/pdf")

    [entry] = collect(hub, env, logs, blobs, [url_file(url)])

    assert entry["reason"] == "ssrf_blocked"


@pytest.mark.usefixtures("allow_loopback")
def test_the_collected_event_follows_the_submission(
    hub: Hub, env: dict[str, str], logs: Logs, blobs: FolderBlobStore
) -> None:
    submission = submit(hub, "u1", "a1", [])
    with running(evidence_spec(blobs), env=env):
        logs.wait("evidence", evidence_collection_id(TENANT, submission), "the evidence")
    [received] = [e for e in logs.events("hub") if e.originator_id == submission]
    [collected] = logs.events("evidence")

    assert collected.files == []
    assert collected.context["correlation_id"] == received.context["correlation_id"]
    assert collected.context["causation_id"] == f"{submission}@1"
    assert collected.context["source"] == "evidence"
