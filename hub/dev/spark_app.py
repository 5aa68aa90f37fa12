"""The Spark simulator's HTTP app: Spark's course API, temporary file URLs, a `/grades`
receiver, and `/_control` endpoints that set faults and list what arrived.

    GET  /api/courses                      bearer API key; {"courses": [...]} (seed 000)
    GET  /api/courses/{id}/assignments     bearer API key; {"course_id", "assignments"}
    GET  /files/{name}?expires=<unix>      the file; 403 once expired, 404 unknown
    POST /grades                           bearer API key; records it with Idempotency-Key
    GET|POST|DELETE /_control/grades       what arrived | {"fail_with", "times",
                                           "retry_after", "delay_s"} | forget it all
    GET|POST|DELETE /_control/files        downloads | faults | forget
    PUT  /_control/files/{name}            add a file (the body, its Content-Type)
    GET|PUT /_control/courses              the catalogue (assignments inline)

The API is limited to `api_rate_limit` requests a minute (Spark's 100 by default): 429
with `Retry-After` beyond.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.dev.spark_demo import DemoFile
from hub.dev.spark_state import Fault, SparkState
from schemas.spark import GradePassback

CHUNK = 64 * 1024


class FaultRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fail_with: int | None = Field(default=None, ge=400, le=599)
    times: int = Field(default=1, ge=0)
    retry_after: float | None = Field(default=None, ge=0)
    delay_s: float = Field(default=0.0, ge=0, le=120)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status, headers=headers)


def _fault_response(fault: Fault) -> JSONResponse | None:
    if fault.fail_with is None:
        return None
    headers = None
    if fault.retry_after is not None:
        headers = {"Retry-After": f"{fault.retry_after:g}"}
    return _error(fault.fail_with, "failure injected by the simulator", headers)


def _state(request: Request) -> SparkState:
    state: SparkState = request.app.state.spark
    return state


def _authorized(state: SparkState, authorization: str | None) -> bool:
    scheme, _, token = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), state.api_key.encode()
    )


def _api_gate(state: SparkState, authorization: str | None) -> JSONResponse | None:
    if not _authorized(state, authorization):
        return _error(401, "missing or wrong API key", {"WWW-Authenticate": 'Bearer realm="spark"'})
    wait = state.api_call_wait()
    if wait is not None:
        return _error(429, "rate limit exceeded", {"Retry-After": str(max(int(wait + 0.999), 1))})
    return None


Authorization = Annotated[str | None, Header()]

api = APIRouter(prefix="/api", tags=["Spark API"])


@api.get("/courses")
async def list_courses(request: Request, authorization: Authorization = None) -> Response:
    state = _state(request)
    refused = _api_gate(state, authorization)
    return refused or JSONResponse({"courses": state.courses()})


@api.get("/courses/{course_id}/assignments")
async def list_assignments(
    course_id: str, request: Request, authorization: Authorization = None
) -> Response:
    state = _state(request)
    refused = _api_gate(state, authorization)
    if refused is not None:
        return refused
    assignments = state.assignments(course_id)
    if assignments is None:
        return _error(404, f"no course {course_id!r}")
    return JSONResponse({"course_id": course_id, "assignments": assignments})


files = APIRouter(tags=["temporary file URLs"])


@files.get("/files/{name}")
async def get_file(
    name: str, request: Request, expires: Annotated[int | None, Query()] = None
) -> Response:
    state = _state(request)
    fault = state.file_faults.take()
    if fault is not None:
        await asyncio.sleep(fault.delay_s)
        failed = _fault_response(fault)
        if failed is not None:
            state.record_download(name, failed.status_code)
            return failed
    found = state.file(name)
    status = 200
    if expires is None or expires < time.time():
        status = 403
    elif found is None:
        status = 404
    state.record_download(name, status)
    if status == 403:
        return _error(403, "the link has expired (or has no ?expires=)")
    if found is None:
        return _error(404, f"no file {name!r}")
    return _file_response(name, found)


def _file_response(name: str, found: DemoFile) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **found.headers}
    if found.length == len(found.content):
        return Response(found.content, media_type=found.content_type, headers=headers)
    if not found.chunked:
        headers["Content-Length"] = str(found.length)
    return StreamingResponse(_padded(found), media_type=found.content_type, headers=headers)


async def _padded(found: DemoFile) -> AsyncIterator[bytes]:
    yield found.content
    left = found.length - len(found.content)
    zeros = bytes(CHUNK)
    while left > 0:
        yield zeros[: min(left, CHUNK)]
        left -= CHUNK


grades = APIRouter(tags=["grade passback"])


@grades.post("/grades")
async def receive_grade(
    request: Request,
    authorization: Authorization = None,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Response:
    state = _state(request)
    raw = await request.body()
    body: Any
    try:
        body = json.loads(raw)
    except ValueError:
        body = raw.decode("utf-8", "replace")
    authorized = _authorized(state, authorization)
    fault = state.grade_faults.take()
    if fault is not None:
        await asyncio.sleep(fault.delay_s)
        failed = _fault_response(fault)
        if failed is not None:
            state.record_grade(idempotency_key, body, failed.status_code, authorized=authorized)
            return failed
    if not authorized:
        state.record_grade(idempotency_key, body, 401, authorized=False)
        return _error(401, "missing or wrong API key", {"WWW-Authenticate": "Bearer"})
    try:
        GradePassback.model_validate(body)
    except ValidationError as error:
        state.record_grade(idempotency_key, body, 422, authorized=True)
        return _error(422, f"invalid grade: {error.error_count()} problem(s)")
    recorded = state.record_grade(idempotency_key, body, 200, authorized=True)
    return JSONResponse({"status": "duplicate" if recorded.duplicate else "accepted"})


control = APIRouter(prefix="/_control", tags=["simulator control"])


@control.get("/grades")
async def grades_arrived(request: Request) -> dict[str, Any]:
    state = _state(request)
    arrived = [g.as_dict() for g in state.grades()]
    return {
        "requests": arrived,
        "delivered": [g for g in arrived if g["delivered"]],
        "faults_left": state.grade_faults.left,
    }


@control.post("/grades")
async def fail_grades(fault: FaultRequest, request: Request) -> dict[str, Any]:
    _state(request).grade_faults.set(Fault(**fault.model_dump()))
    return {"faults_left": _state(request).grade_faults.left}


@control.delete("/grades", status_code=204)
async def forget_grades(request: Request) -> None:
    _state(request).clear_grades()


@control.get("/files")
async def files_fetched(request: Request) -> dict[str, Any]:
    state = _state(request)
    return {
        "downloads": [vars(d) for d in state.downloads()],
        "files": sorted(state.files),
        "faults_left": state.file_faults.left,
    }


@control.post("/files")
async def fail_files(fault: FaultRequest, request: Request) -> dict[str, Any]:
    _state(request).file_faults.set(Fault(**fault.model_dump()))
    return {"faults_left": _state(request).file_faults.left}


@control.delete("/files", status_code=204)
async def forget_file_faults(request: Request) -> None:
    _state(request).file_faults.clear()


@control.put("/files/{name}", status_code=201)
async def add_file(
    name: str, request: Request, content_type: Annotated[str, Header()] = "application/pdf"
) -> dict[str, Any]:
    content = await request.body()
    _state(request).add_file(name, DemoFile(content, content_type))
    return {"name": name, "size": len(content), "content_type": content_type}


@control.get("/courses")
async def catalogue(request: Request) -> dict[str, Any]:
    return {"courses": _state(request).catalogue}


class Catalogue(BaseModel):
    """Courses, each with `id`, `title`, … and its `assignments` inline (full objects)."""

    courses: list[dict[str, Any]]


@control.put("/courses")
async def replace_catalogue(catalogue: Catalogue, request: Request) -> dict[str, Any]:
    _state(request).set_catalogue(catalogue.courses)
    return {"courses": len(catalogue.courses)}


def create_simulator_app(state: SparkState) -> FastAPI:
    """The simulator's app over `state` (which the caller keeps, to look inside)."""
    app = FastAPI(
        title="Spark simulator",
        description="A fake Spark LMS for developing and testing the hub. Not for production.",
        version="1",
    )
    app.state.spark = state
    for router in (api, files, grades, control):
        app.include_router(router)

    @app.get("/", tags=["simulator control"])
    async def index() -> dict[str, Any]:
        return {
            "simulator": "spark",
            "api": ["/api/courses", "/api/courses/{id}/assignments"],
            "files": sorted(state.files),
            "grades": "/grades",
            "control": ["/_control/grades", "/_control/files", "/_control/courses"],
            "docs": "/docs",
        }

    return app
