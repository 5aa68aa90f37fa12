"""Evidence uploads: a multipart form (text and files), checked whole before anything is kept.

Limits: at most `MAX_FILES` files of `MAX_FILE_BYTES` each, `MAX_TEXT_CHARS` of text, and
the body at most `MAX_BODY_BYTES` (refused from its Content-Length before it is read).
A file's declared type must be one the hub accepts and its bytes must be that type
(`infra.sniff`). Then the files go to blob storage (content-addressed, SHA-256).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from hub.quests.errors import EvidenceEmptyError, EvidenceTooLargeError, EvidenceTypeError
from hub.spark.evidence import CheckedFile, store_files
from infra import sniff
from infra.blobs import BlobStore

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 20_000
MAX_BODY_BYTES = MAX_FILES * MAX_FILE_BYTES + 256 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    text: str
    files: list[CheckedFile]


def check_length(request: Request) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        msg = f"an upload is at most {MAX_BODY_BYTES} bytes ({declared} sent)"
        raise EvidenceTooLargeError(msg)


async def _read(file: UploadFile, index: int) -> bytes:
    chunks, size = [], 0
    while chunk := await file.read(_CHUNK):
        size += len(chunk)
        if size > MAX_FILE_BYTES:
            msg = f"files[{index}] ({file.filename}) is larger than {MAX_FILE_BYTES} bytes"
            raise EvidenceTooLargeError(msg)
        chunks.append(chunk)
    return b"".join(chunks)


def check_file(index: int, name: str, declared: str, data: bytes) -> CheckedFile:
    if not sniff.is_known(declared):
        msg = (
            f"files[{index}] ({name}) is {declared!r}, a type not accepted; "
            f"use one of: {', '.join(sniff.known_types())}"
        )
        raise EvidenceTypeError(msg)
    if not sniff.matches(declared, data):
        msg = f"files[{index}] ({name}) is declared {declared!r} but its bytes are not"
        raise EvidenceTypeError(msg)
    return CheckedFile(index, sniff.base_type(declared), name, data=data)


async def read_upload(request: Request) -> Upload:
    """The form's text and files, every limit checked; nothing is written yet."""
    check_length(request)
    async with request.form(max_files=MAX_FILES, max_fields=4) as form:
        text = form.get("text")
        if text is not None and not isinstance(text, str):
            raise EvidenceTypeError("text is a field, not a file")
        text = (text or "").strip()
        if len(text) > MAX_TEXT_CHARS:
            msg = f"text is at most {MAX_TEXT_CHARS} characters ({len(text)} sent)"
            raise EvidenceTooLargeError(msg)
        files = []
        for index, part in enumerate(form.getlist("files")):
            if not isinstance(part, UploadFile):
                msg = f"files[{index}] is not a file"
                raise EvidenceTypeError(msg)
            data = await _read(part, index)
            name = (part.filename or f"file-{index}")[:255]
            files.append(check_file(index, name, part.content_type or "", data))
    if not text and not files:
        raise EvidenceEmptyError("send text, files, or both")
    return Upload(text, files)


def keep(blobs: BlobStore, upload: Upload) -> list[dict[str, Any]]:
    """Write the files to blob storage; the entries the submission event keeps."""
    return store_files(blobs, upload.files)
