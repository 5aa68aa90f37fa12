"""RFC 9457 problem details: the registry of problem types and the handlers that answer with them.

Every error the HTTP app returns is `application/problem+json` with a stable `type`
URI, a `title` that is the same for every occurrence of that type, the HTTP `status`,
a `detail` that says what to fix, and the `instance` (the request path). Internal
details (exception messages, stack traces) never reach the body of a 5xx.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import structlog
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from infra.errors import NatsUnavailableError
from infra.jetstream.wire import AckLostError

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://hub.example/problems/"
RETRY_AFTER_S = 2
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: its stable URI, its title and its usual status."""

    slug: str
    title: str
    status: int

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug


VALIDATION_FAILED = ProblemType("validation-failed", "The request is not valid", 422)
NOT_FOUND = ProblemType("not-found", "Not found", 404)
METHOD_NOT_ALLOWED = ProblemType("method-not-allowed", "Method not allowed", 405)
UNAUTHORIZED = ProblemType("unauthorized", "Authentication required", 401)
TENANT_EXISTS = ProblemType("tenant-exists", "The tenant already exists", 409)
NATS_UNAVAILABLE = ProblemType("nats-unavailable", "The event store is unavailable", 503)
NOT_READY = ProblemType("not-ready", "The hub is not ready", 503)
INTERNAL_ERROR = ProblemType("internal-error", "Internal server error", 500)

SESSION_REQUIRED = ProblemType("session-required", "Sign in first", 401)
CONCURRENT_CHANGE = ProblemType(
    "concurrent-change", "Changed at the same moment by another request", 409
)
SPARK_ALREADY_CONNECTED = ProblemType(
    "spark-already-connected", "The tenant is already connected to Spark", 409
)

# Rejected partner signals: one type per reason code (the code the audit stream records).
SIGNAL_REJECTIONS: dict[str, ProblemType] = {
    reason: ProblemType(reason.replace("_", "-"), title, status)
    for reason, title, status in (
        ("tenant_missing", "No tenant was named", 400),
        ("tenant_conflict", "The tenant is named twice, differently", 400),
        ("unknown_tenant", "Unknown tenant", 404),
        ("spark_not_connected", "The tenant has no Spark connection", 404),
        ("rate_limited", "Too many requests", 429),
        ("token_missing", "The SSO token is missing", 400),
        ("token_malformed", "The SSO token is not a JWT", 401),
        ("token_algorithm", "The SSO token's algorithm is not accepted", 401),
        ("token_signature", "The SSO token's signature is not valid", 401),
        ("token_claims", "The SSO token's claims are missing or invalid", 401),
        ("token_expired", "The SSO token has expired", 401),
        ("token_not_yet_valid", "The SSO token is not valid yet", 401),
        ("token_lifetime", "The SSO token lives longer than allowed", 401),
        ("token_issuer", "The SSO token's issuer is not accepted", 401),
        ("token_replayed", "The SSO token was already used", 401),
        ("signature_missing", "The webhook signature is missing", 401),
        ("signature_mismatch", "The webhook signature does not match the body", 401),
        ("body_too_large", "The request body is too large", 413),
        ("malformed_json", "The body is not valid JSON", 400),
        ("missing_fields", "Required fields are missing", 422),
        ("invalid_fields", "Some fields are not valid", 422),
        ("evidence_url_blocked", "An evidence URL points at a refused address", 422),
        ("file_source_invalid", "An evidence file needs exactly one of url or content", 422),
        ("file_base64_invalid", "An embedded file is not valid base64", 422),
        ("file_too_large", "An embedded file is too large", 413),
        ("file_type_unsupported", "An embedded file's type is not accepted", 422),
        ("file_type_mismatch", "An embedded file's bytes do not match its declared type", 422),
    )
}

_BY_STATUS = {p.status: p for p in (NOT_FOUND, METHOD_NOT_ALLOWED, UNAUTHORIZED)}


class Problem(BaseModel):
    """The body of every error response (for the OpenAPI document)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str


class ProblemError(Exception):
    """Raised by routes to answer with a problem of `kind`."""

    def __init__(
        self,
        kind: ProblemType,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions


def problem_body(
    *,
    type_uri: str,
    title: str,
    status: int,
    detail: str,
    instance: str,
    request_id: str | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        **extensions,
    }
    if request_id:
        body["request_id"] = request_id
    return body


def problem_response(
    kind: ProblemType,
    detail: str,
    *,
    instance: str,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = problem_body(
        type_uri=kind.uri,
        title=kind.title,
        status=kind.status,
        detail=detail,
        instance=instance,
        request_id=request_id,
        **extensions,
    )
    return JSONResponse(body, status_code=kind.status, headers=headers, media_type=PROBLEM_JSON)


def _request_id(request: Request) -> str | None:
    """Set by the request context middleware, so a user can quote it to support."""
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries saying that these statuses answer with a problem."""
    schema = Problem.model_json_schema()
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


async def _on_problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ProblemError)
    return problem_response(
        error.kind,
        error.detail,
        instance=request.url.path,
        request_id=_request_id(request),
        headers=error.headers,
        **error.extensions,
    )


async def _on_http_exception(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    path, request_id = request.url.path, _request_id(request)
    phrase = HTTPStatus(error.status_code).phrase
    detail = str(error.detail) if error.detail and error.detail != phrase else ""
    kind = _BY_STATUS.get(error.status_code)
    if kind is NOT_FOUND:
        detail = detail or f"there is nothing at {path}"
    elif kind is METHOD_NOT_ALLOWED:
        allowed = headers.get("Allow") or headers.get("allow") or "another method"
        detail = detail or f"{request.method} is not allowed here; use {allowed}"
    if kind is None:  # no type of our own: RFC 9457 says about:blank, titled by the status
        body = problem_body(
            type_uri="about:blank",
            title=phrase,
            status=error.status_code,
            detail=detail or phrase,
            instance=path,
            request_id=request_id,
        )
        return JSONResponse(
            body, status_code=error.status_code, headers=headers, media_type=PROBLEM_JSON
        )
    return problem_response(
        kind, detail or kind.title, instance=path, request_id=request_id, headers=headers
    )


def _field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """Where and what, never the input itself (it may hold a secret)."""
    return [
        {
            "field": ".".join(str(part) for part in item.get("loc", ())),
            "message": str(item.get("msg", "")),
            "code": str(item.get("type", "")),
        }
        for item in error.errors()
    ]


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = _field_errors(error)
    fields = ", ".join(e["field"] for e in errors) or "the request"
    return problem_response(
        VALIDATION_FAILED,
        f"fix these fields: {fields}",
        instance=request.url.path,
        request_id=_request_id(request),
        errors=errors,
    )


async def _on_store_unavailable(request: Request, error: Exception) -> JSONResponse:
    # The message names the server, not a secret, but it is an operator's concern. Nothing
    # is promised about the write: a commit whose acknowledgement was lost may be stored.
    log.warning("http.store_unavailable", error=str(error), error_type=type(error).__name__)
    return problem_response(
        NATS_UNAVAILABLE,
        "the event store cannot be reached; retry later",
        instance=request.url.path,
        request_id=_request_id(request),
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def internal_error_response(path: str, request_id: str | None) -> JSONResponse:
    """The 500 answer to an unexpected exception: no internal detail leaks."""
    return problem_response(
        INTERNAL_ERROR,
        "an unexpected error happened; it has been logged",
        instance=path,
        request_id=request_id,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every handled error a problem (unexpected ones are caught by the middleware)."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(NatsUnavailableError, _on_store_unavailable)
    app.add_exception_handler(OperationalError, _on_store_unavailable)
    # A read that timed out inside the wire layer, should it escape the recorder unwrapped.
    app.add_exception_handler(AckLostError, _on_store_unavailable)
