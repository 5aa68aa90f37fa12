"""`LeanRoute` hands the endpoint its request and string parameters, and refuses the rest."""

from __future__ import annotations

import asyncio
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.http.lean_route import LeanRoute, LeanRouteError


def test_path_query_and_header_strings_reach_the_endpoint_and_are_documented() -> None:
    router = APIRouter(route_class=LeanRoute)

    @router.post("/t/{tenant}/thing")
    async def thing(
        tenant: str,
        request: Request,
        mode: Annotated[str | None, Query(alias="mode")] = None,
        who: Annotated[str | None, Header(alias="X-Who")] = None,
    ) -> JSONResponse:
        body = await request.body()
        return JSONResponse({"tenant": tenant, "mode": mode, "who": who, "body": body.decode()})

    app = FastAPI()
    app.include_router(router)

    async def send() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            answer = await client.post(
                "/t/acme/thing?mode=fast", content=b"raw", headers={"X-Who": "me"}
            )
            return answer, await client.post("/t/acme/thing", content=b"")

    answer, bare = asyncio.run(send())
    assert answer.json() == {"tenant": "acme", "mode": "fast", "who": "me", "body": "raw"}
    assert bare.json() == {"tenant": "acme", "mode": None, "who": None, "body": ""}
    parameters = app.openapi()["paths"]["/t/{tenant}/thing"]["post"]["parameters"]
    assert {(p["name"], p["in"]) for p in parameters} == {
        ("tenant", "path"),
        ("mode", "query"),
        ("X-Who", "header"),
    }


class Body(BaseModel):
    n: int


def test_a_body_model_or_a_number_is_refused_when_the_app_is_built() -> None:
    router = APIRouter(route_class=LeanRoute)
    with pytest.raises(LeanRouteError, match="plain str"):

        @router.post("/body")
        async def with_body(request: Request, body: Body) -> JSONResponse:
            return JSONResponse({})

    with pytest.raises(LeanRouteError, match="limit"):

        @router.get("/number")
        async def with_number(request: Request, limit: int = 10) -> JSONResponse:
            return JSONResponse({})
