"""`/evidence/<learner>/<sha256>`: an evidence file from the hub's blob storage, to those allowed.

Allowed: whoever may see the learner's evidence (the learner, linked family with the
right), or anyone when the learner's showcase is public. The file must be evidence of
one of the learner's completed tasks (a blob's hash alone opens nothing), and is served
with its recorded type, `nosniff`, a sandboxing CSP, and as an attachment unless it is
an image or a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from hub.application import Hub
from hub.domain.base import TENANT_SLUG, tenant_of
from hub.domain.showcases import PUBLIC
from hub.http.deps import RuntimeDep
from hub.http.problems import problem_responses
from hub.pages.access import ANYONE, decide, refusal
from hub.pages.commands import showcase_of
from hub.pages.portfolio_page import INLINE_TYPES, find_evidence
from hub.pages.readers import PageReaders, page_readers
from hub.pages.web import (
    EVIDENCE_NOT_FOUND,
    FORBIDDEN,
    PageError,
    SessionCookie,
    optional_session,
)
from hub.spark.sessions import Session
from infra.blobs import BlobStore
from infra.sniff import base_type

router = APIRouter(tags=["pages"])
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class EvidenceFile:
    data: bytes
    content_type: str
    filename: str


def _ascii(c: str) -> str:
    return c if (c.isascii() and c.isalnum()) or c in "._-" else "_"


def content_disposition(filename: str, content_type: str) -> str:
    """`inline` for images and PDFs, else `attachment`; the name ASCII-safe and RFC 5987."""
    kind = "inline" if content_type in INLINE_TYPES else "attachment"
    ascii_name = "".join(
        c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in filename
    )
    return f"{kind}; filename=\"{ascii_name or 'evidence'}\"; filename*=UTF-8''{quote(filename)}"


def read_evidence(blobs: BlobStore, entry: dict[str, Any]) -> EvidenceFile | None:
    blob = str(entry["blob"])
    if not blobs.exists(blob):
        return None
    content_type = base_type(str(entry.get("type") or "")) or "application/octet-stream"
    return EvidenceFile(blobs.get(blob), content_type, str(entry.get("filename") or "evidence"))


def _locate(
    readers: PageReaders, blobs: BlobStore, learner_id: str, sha256: str
) -> EvidenceFile | None:
    if readers.portfolio is None:
        return None
    entry = find_evidence(readers.portfolio(tenant_of(learner_id), learner_id), sha256)
    return None if entry is None else read_evidence(blobs, entry)


def _allowed_file(
    hub: Hub,
    readers: PageReaders,
    blobs: BlobStore,
    session: Session | None,
    *,
    learner_id: str,
    sha256: str,
) -> EvidenceFile:
    """The file, once the viewer may see the learner's evidence and it is theirs."""
    access = decide(readers, session, learner_id)
    if not access.can_view_evidence:
        showcase = showcase_of(hub, tenant_of(learner_id), learner_id)
        if showcase.visibility == PUBLIC:
            access = ANYONE
    if not access.can_view:
        raise refusal(access)
    if not access.can_view_evidence:
        raise PageError(FORBIDDEN, "the student has not shared their evidence with you")
    found = _locate(readers, blobs, learner_id, sha256)
    if found is None:
        raise PageError(EVIDENCE_NOT_FOUND, "this learner's portfolio shows no such file")
    return found


@router.get(
    "/evidence/{learner_id}/{sha256}",
    response_class=Response,
    responses=problem_responses(403, 404),
    summary="An evidence file of a learner's portfolio",
)
async def evidence_file(
    learner_id: str,
    sha256: str,
    *,
    request: Request,
    runtime: RuntimeDep,
    cookie: SessionCookie = None,
) -> Response:
    session = optional_session(request, cookie)
    if len(sha256) != 64 or not set(sha256) <= _HEX:
        raise PageError(EVIDENCE_NOT_FOUND, "an evidence file is named by its SHA-256 (hex)")
    if not TENANT_SLUG.match(tenant_of(learner_id)):
        raise PageError(EVIDENCE_NOT_FOUND, "no learner has this id")
    found = await run_in_threadpool(
        _allowed_file,
        runtime.hub,
        page_readers(request),
        request.app.state.page_blobs,
        session,
        learner_id=learner_id,
        sha256=sha256,
    )
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": content_disposition(found.filename, found.content_type),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
