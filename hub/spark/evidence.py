"""A submission's files, checked in the request: embedded ones decoded and sniffed, URLs screened.

Every file is checked before any is written, so a rejected submission leaves nothing
behind. URL files are only screened statically here (an IP literal or `localhost` that
the SSRF guard would refuse); the evidence connector fetches them through the guard,
which checks the addresses a name resolves to.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hub.spark.verify import SignalRejectedError
from infra import sniff
from infra.blobs import BlobStore
from infra.http import is_public
from schemas.spark import SubmissionFile

MAX_FILE_BYTES = 5 * 1024 * 1024
_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed: `data` for an embedded one (to be stored), else its URL."""

    index: int
    type: str
    filename: str
    url: str | None = None
    data: bytes | None = None


def _reject(reason: str, detail: str, status: int = 422) -> SignalRejectedError:
    return SignalRejectedError(reason, detail, status)


def url_host(host: str | None) -> str:
    """`[::1]` -> `::1`, `Example.COM.` -> `example.com`."""
    return (host or "").strip("[]").rstrip(".").lower()


def check_url(index: int, url: str, host: str | None, allowed_hosts: Iterable[str]) -> None:
    name = url_host(host)
    if name in set(allowed_hosts):
        return
    where = f"submission_files[{index}].url"
    if name == "localhost" or name.endswith(".localhost"):
        raise _reject("evidence_url_blocked", f"{where} points at localhost")
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return  # a name: the connector's guard checks what it resolves to, when it fetches
    if not is_public(name):
        raise _reject(
            "evidence_url_blocked",
            f"{where} points at a non-public address ({name}); "
            "ask the hub's admin to allow-list the host if it is Spark's",
        )


def decode_embedded(index: int, content: str, max_bytes: int) -> bytes:
    where = f"submission_files[{index}]"
    raw = _WHITESPACE.sub(b"", content.encode("ascii", errors="replace"))
    if len(raw) // 4 * 3 > max_bytes + 2:  # refused before decoding it
        raise _reject("file_too_large", f"{where} is larger than {max_bytes} bytes", 413)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _reject("file_base64_invalid", f"{where}.content_base64 is not base64") from error
    if len(data) > max_bytes:
        raise _reject("file_too_large", f"{where} is larger than {max_bytes} bytes", 413)
    return data


def check_files(
    files: Sequence[SubmissionFile],
    *,
    allowed_hosts: Iterable[str] = (),
    max_file_bytes: int = MAX_FILE_BYTES,
) -> list[CheckedFile]:
    """Check every file; raises `SignalRejectedError` (422 or 413) at the first bad one."""
    allowed = [url_host(h) for h in allowed_hosts]
    checked: list[CheckedFile] = []
    for index, file in enumerate(files):
        if (file.url is None) == (file.content_base64 is None):
            raise _reject(
                "file_source_invalid",
                f"submission_files[{index}] needs exactly one of url and content_base64",
            )
        if file.url is not None:
            check_url(index, str(file.url), file.url.host, allowed)
            checked.append(CheckedFile(index, file.type, file.filename, url=str(file.url)))
            continue
        assert file.content_base64 is not None
        data = decode_embedded(index, file.content_base64, max_file_bytes)
        if not sniff.is_known(file.type):
            raise _reject(
                "file_type_unsupported",
                f"submission_files[{index}].type {file.type!r} is not accepted; "
                f"use one of: {', '.join(sniff.known_types())}",
            )
        if not sniff.matches(file.type, data):
            raise _reject(
                "file_type_mismatch",
                f"submission_files[{index}] is declared {file.type!r} but its bytes are not",
            )
        checked.append(CheckedFile(index, file.type, file.filename, data=data))
    return checked


def store_files(blobs: BlobStore, files: Sequence[CheckedFile]) -> list[dict[str, Any]]:
    """Write the embedded files; the entries the `Submission.Received` event keeps."""
    entries: list[dict[str, Any]] = []
    for file in files:
        if file.data is None:
            entries.append({"url": file.url, "type": file.type, "filename": file.filename})
            continue
        blob = blobs.put(file.data, file.type)
        entries.append(
            {
                "blob": blob.sha256,
                "size": blob.size,
                "type": file.type,
                "filename": file.filename,
                "embedded": True,
            }
        )
    return entries
