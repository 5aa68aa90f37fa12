"""Evidence files in the request: URLs screened statically, embedded files decoded and sniffed."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from hub.spark.evidence import check_files, check_url, store_files
from hub.spark.verify import SignalRejectedError
from infra.blobs import FolderBlobStore
from schemas.spark import SubmissionFile
from tests.hub.spark.signals import PNG


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "169.254.169.254",
        "::1",
        "10.1.2.3",
        "192.168.0.1",
        "localhost",
        "api.localhost",
        "0.0.0.0",
        "::ffff:7f00:1",
        "100.64.0.1",
    ],
)
def test_refused_hosts(host: str) -> None:
    with pytest.raises(SignalRejectedError) as caught:
        check_url(0, f"http://{host}/x", host, [])
    assert caught.value.reason == "evidence_url_blocked"
    assert caught.value.status == 422


@pytest.mark.parametrize("host", ["spark-storage.example", "8.8.8.8", "2001:4860:4860::8888"])
def test_public_hosts_and_names_pass(host: str) -> None:
    check_url(0, f"https://{host}/x", host, [])


def test_an_allow_listed_host_passes() -> None:
    check_url(0, "http://127.0.0.1/x", "127.0.0.1", ["127.0.0.1"])


def _file(data: bytes, type_: str) -> SubmissionFile:
    return SubmissionFile(content_base64=base64.b64encode(data).decode(), type=type_, filename="f")


def test_a_file_at_the_limit_passes_and_one_byte_more_does_not() -> None:
    limit = len(PNG) + 10
    check_files([_file(PNG + b"\x00" * 10, "image/png")], max_file_bytes=limit)
    with pytest.raises(SignalRejectedError) as caught:
        check_files([_file(PNG + b"\x00" * 11, "image/png")], max_file_bytes=limit)
    assert caught.value.reason == "file_too_large"
    assert caught.value.status == 413


def test_the_first_bad_file_is_named() -> None:
    files = [_file(PNG, "image/png"), _file(b"not a pdf", "application/pdf")]
    with pytest.raises(SignalRejectedError, match=r"submission_files\[1\]"):
        check_files(files)


def test_stored_entries_name_their_blob(tmp_path: Path) -> None:
    blobs = FolderBlobStore(tmp_path)
    checked = check_files(
        [
            _file(PNG, "image/png"),
            SubmissionFile(url="https://s.example/f", type="image/png", filename="u.png"),
        ]
    )
    entries = store_files(blobs, checked)
    assert entries[0]["embedded"] is True
    assert blobs.get(entries[0]["blob"]) == PNG
    assert entries[1] == {"url": "https://s.example/f", "type": "image/png", "filename": "u.png"}
