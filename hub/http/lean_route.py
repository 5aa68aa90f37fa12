"""`LeanRoute`: a FastAPI route for hot endpoints that skips per-request dependency solving.

FastAPI solves an endpoint's dependencies on every request: for a webhook that reads
its raw body itself and takes a few optional strings (the tenant from the path, a query
or a header), that machinery cost about as much CPU as the rest of the framework.
A lean route hands the endpoint its `Request` and those strings straight from the
request; the signature still documents the parameters in OpenAPI, as any route's.

Only `Request` and plain string parameters (path, query, header) are allowed: a route
that declares anything else (a body model, a dependency, a cookie, a number that needs
validating) is refused when the app is built, so it can never silently go unchecked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class LeanRouteError(TypeError):
    """Raised when a lean route declares a parameter it cannot pass unchecked."""


def _plain_strings(
    route: APIRoute,
) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    dependant = route.dependant
    unsupported = (
        dependant.body_params
        or dependant.cookie_params
        or dependant.dependencies
        or dependant.response_param_name
        or dependant.background_tasks_param_name
    )
    fields = [*dependant.path_params, *dependant.query_params, *dependant.header_params]
    not_strings = [f.name for f in fields if f.field_info.annotation not in (str, str | None)]
    if unsupported or not_strings or dependant.request_param_name is None:
        msg = (
            f"{route.path}: a lean route takes a Request and plain str path, query or header "
            f"parameters only (not {not_strings or 'a body, cookie or dependency'})"
        )
        raise LeanRouteError(msg)
    return (
        [f.name for f in dependant.path_params],
        [(f.name, f.alias) for f in dependant.query_params],
        [(f.name, f.alias) for f in dependant.header_params],
    )


class LeanRoute(APIRoute):
    """An `APIRoute` whose endpoint gets its Request and string parameters as they came."""

    def get_route_handler(self) -> Handler:
        path, query, header = _plain_strings(self)
        request_name = self.dependant.request_param_name
        assert request_name is not None  # checked by _plain_strings
        endpoint: Callable[..., Awaitable[Response]] = self.endpoint

        async def handle(request: Request) -> Response:
            kwargs: dict[str, Any] = {request_name: request}
            for name in path:
                kwargs[name] = request.path_params[name]
            for name, alias in query:
                kwargs[name] = request.query_params.get(alias)
            for name, alias in header:
                kwargs[name] = request.headers.get(alias)
            return await endpoint(**kwargs)

        return handle
