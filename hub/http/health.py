"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.http.deps import ReadinessDep
from hub.http.problems import NOT_READY, problem_response, problem_responses

router = APIRouter(tags=["operations"])
_NO_STORE = {"Cache-Control": "no-store"}


class Liveness(BaseModel):
    status: str = "ok"


class ReadinessBody(BaseModel):
    status: str
    checks: dict[str, Any]


@router.get("/healthz", summary="Liveness: the process is up")
async def healthz() -> Liveness:
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness: NATS, the database and projection lag",
    response_model=ReadinessBody,
    responses=problem_responses(503),
)
async def readyz(request: Request, readiness: ReadinessDep) -> JSONResponse:
    """200 when every check passes; otherwise a 503 problem with the same `checks`."""
    report = await readiness.evaluate()
    if report.ready:
        return JSONResponse({"status": "ready", "checks": report.checks}, headers=_NO_STORE)
    request_id = getattr(request.state, "request_id", None)
    return problem_response(
        NOT_READY,
        "; ".join(report.failures),
        instance=request.url.path,
        request_id=request_id,
        headers=_NO_STORE,
        checks=report.checks,
    )
