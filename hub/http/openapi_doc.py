"""The OpenAPI document, completed with what every route of a kind answers alike.

FastAPI documents what a route declares; some answers come from the app's shared
handlers instead, the same for every route of a kind, so they are added here once:

- an operation that takes a body answers 400 when the body cannot be parsed at all
  (FastAPI's own answer, made a problem by `hub.http.problems`);
- an operation that reads a session cookie answers 401 to a cookie that is not valid
  (a bad cookie is refused, never taken for none);
- a redirect (3xx) has no body (FastAPI gives it the route's JSON media type);
- a 422 is always a problem (`_on_validation_error`), never FastAPI's default
  `HTTPValidationError` document;
- every operation but the probes can be refused by the rate limiter
  (`hub.api.rate_limit_middleware`): 429 with `Retry-After` and the `RateLimit-*` headers;
- the pages (tag `pages`) answer their errors as HTML to browsers and as problems to
  API clients (`hub.pages.web`), so their 4xx and 5xx carry both media types.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from hub.api.rate_limit_middleware import EXEMPT
from hub.http.problems import PROBLEM_JSON, problem_responses

HTML = {"schema": {"type": "string"}}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _problem(status: int) -> dict[str, Any]:
    entry: dict[str, Any] = problem_responses(status)[status]
    return entry


def _rate_limited() -> dict[str, Any]:
    header = {"schema": {"type": "integer", "minimum": 0}}
    return {
        **_problem(429),
        "description": "Over the rate limit of the tenant, the client or the address",
        "headers": {
            name: {**header, "description": description}
            for name, description in (
                ("Retry-After", "Seconds to wait before trying again"),
                ("RateLimit-Limit", "Requests allowed in the window"),
                ("RateLimit-Remaining", "Requests left in the window"),
                ("RateLimit-Reset", "Seconds until the window frees a request"),
            )
        },
    }


def complete_operation(operation: dict[str, Any], *, limited: bool = True) -> None:
    """Add to one operation (an OpenAPI Operation Object) what the shared handlers answer;
    `limited`: whether the rate limiter sees its requests (all but the probes)."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if limited and "429" not in responses:
        responses["429"] = _rate_limited()
    if "requestBody" in operation and "400" not in responses:
        responses["400"] = {**_problem(400), "description": "The body could not be parsed"}
    cookies = [p for p in operation.get("parameters", ()) if p.get("in") == "cookie"]
    if cookies and "401" not in responses:
        responses["401"] = {**_problem(401), "description": "The session cookie is not valid"}
    if "422" in responses:
        content = responses["422"].setdefault("content", {})
        content.pop("application/json", None)
        content[PROBLEM_JSON] = _problem(422)["content"][PROBLEM_JSON]
    for status, response in responses.items():
        if status[0] == "3":
            response.pop("content", None)
    if "pages" in operation.get("tags", ()):
        for status, response in responses.items():
            if status[0] in "45":
                response.setdefault("content", {}).setdefault("text/html", HTML)


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at `app.openapi_url` (built once, on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()  # FastAPI's own, kept in app.openapi_schema
            for url, path in document.get("paths", {}).items():
                for method, operation in path.items():
                    if method in _METHODS:
                        complete_operation(operation, limited=url not in EXEMPT)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
