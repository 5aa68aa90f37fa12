"""The schemas and the AsyncAPI document over HTTP: listed, served, unknown is a 404 problem."""

from __future__ import annotations

import httpx

from hub.bootstrap import Runtime
from hub.eventschemas.asyncapi import hub_asyncapi
from hub.eventschemas.generate import all_schemas

PROBLEM_JSON = "application/problem+json"


def test_the_index_lists_every_event_type(client: httpx.Client) -> None:
    response = client.get("/api/v1/schemas/events")
    assert response.status_code == 200
    listed = response.json()["event_types"]
    assert [entry["type"] for entry in listed] == list(all_schemas())
    assert listed[0]["schema"] == f"{listed[0]['type']}.json"


def test_one_event_type_is_its_json_schema(client: httpx.Client) -> None:
    response = client.get("/api/v1/schemas/events/Submission.Received")
    assert response.status_code == 200
    assert response.json() == all_schemas()["Submission.Received"]


def test_an_unknown_or_malformed_event_type_is_a_problem(client: httpx.Client) -> None:
    unknown = client.get("/api/v1/schemas/events/Submission.Vanished")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM_JSON
    assert "GET /api/v1/schemas/events" in unknown.json()["detail"]
    malformed = client.get("/api/v1/schemas/events/not a type")
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == PROBLEM_JSON


def test_the_asyncapi_document_is_served_for_the_runtimes_prefix(
    client: httpx.Client, runtime: Runtime
) -> None:
    response = client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.json() == hub_asyncapi(runtime.settings.stream_prefix)
    paths = client.get("/openapi.json").json()["paths"]
    assert {
        "/asyncapi.json",
        "/api/v1/schemas/events",
        "/api/v1/schemas/events/{event_type}",
    } <= set(paths)
