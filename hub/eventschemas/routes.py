"""The event types' JSON Schemas and the NATS subjects' AsyncAPI document, over HTTP (public)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Request
from pydantic import BaseModel, Field

from hub.bootstrap import Runtime
from hub.eventschemas.asyncapi import hub_asyncapi
from hub.eventschemas.generate import all_schemas, index
from hub.http.problems import NOT_FOUND, ProblemError, problem_responses

router = APIRouter(tags=["schemas"])
EventType = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z][A-Za-z0-9]{0,63}\.[A-Za-z][A-Za-z0-9]{0,63}$",
        description="A public event type, `<Aggregate>.<Event>` (e.g. `Submission.Received`).",
    ),
]


class EventTypeEntry(BaseModel):
    type: str
    schema_file: str = Field(alias="schema")
    description: str


class EventTypeIndex(BaseModel):
    event_types: list[EventTypeEntry]


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return all_schemas()


@cache
def _asyncapi(prefix: str) -> dict[str, Any]:
    return hub_asyncapi(prefix)


def install_event_schemas(app: FastAPI, runtime: Runtime) -> None:
    del runtime  # the documents depend on the code and the stream prefix only
    app.include_router(router)


@router.get(
    "/api/v1/schemas/events",
    response_model=EventTypeIndex,
    summary="Every event type the hub records, with its JSON Schema's name",
)
async def event_types() -> dict[str, Any]:
    return index(_schemas())


@router.get(
    "/api/v1/schemas/events/{event_type}",
    response_model=dict[str, Any],
    responses=problem_responses(404, 422),
    summary="The JSON Schema (2020-12) of one event type's payload",
)
async def event_schema(event_type: EventType) -> dict[str, Any]:
    schema = _schemas().get(event_type)
    if schema is None:
        raise ProblemError(
            NOT_FOUND, f"no event type {event_type!r}; GET /api/v1/schemas/events lists them"
        )
    return schema


@router.get(
    "/asyncapi.json",
    response_model=dict[str, Any],
    summary="AsyncAPI 3.0 of the NATS subjects: inbound, domain events, Caliper",
)
async def asyncapi(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    return _asyncapi(runtime.settings.stream_prefix)
