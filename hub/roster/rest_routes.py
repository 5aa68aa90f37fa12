"""The OneRoster 1.2 REST publisher: `/ims/oneroster/rostering/v1p2/...` and its token endpoint.

    POST /ims/oneroster/oauth2/token        client credentials (Basic or form) -> bearer token
    GET  {BASE}/{collection}                orgs, schools, academicSessions, terms,
                                            gradingPeriods, users, students, teachers,
                                            courses, classes, enrollments, demographics
    GET  {BASE}/{collection}/{id}
    GET  {BASE}/schools/{id}/{classes|courses|enrollments|students|teachers}
    GET  {BASE}/schools/{id}/classes/{class}/{enrollments|students|teachers}
    GET  {BASE}/classes/{id}/{students|teachers}, courses/{id}/classes, terms/{id}/classes,
         {users|students|teachers}/{id}/classes

The token names its tenant: a client never reads another tenant's roster. Errors are
the specification's status format (`imsx_codeMajor`, `imsx_severity`,
`imsx_description`, `imsx_CodeMinor`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from hub.application import Hub
from hub.http.oauth import (
    TOKEN_ERRORS,
    TokenError,
    bearer_token,
    client_credentials,
    oauth_error,
    token_form,
    token_response,
)
from hub.roster.clients import (
    CORE,
    DEMOGRAPHICS,
    TOKEN_TTL_S,
    Access,
    ClientError,
    TokenSigner,
    authenticate,
    granted,
)
from hub.roster.ports import RosterReadModel
from hub.roster.rest_model import BASE, FIELDS, Resource, resource, user_roles
from hub.roster.rest_query import (
    Filter,
    QueryError,
    SqlPlan,
    check_sort,
    matches,
    page_bounds,
    parse_filter,
    project,
    select_fields,
    sort,
    sql_plan,
)

router = APIRouter(tags=["oneroster"])

_STATUS_INFO = {  # the specification's imsx_StatusInfo, as `_status_info` writes it
    "type": "object",
    "required": ["imsx_codeMajor", "imsx_severity", "imsx_description", "imsx_CodeMinor"],
    "properties": {
        "imsx_codeMajor": {"type": "string", "enum": ["failure"]},
        "imsx_severity": {"type": "string", "enum": ["error"]},
        "imsx_description": {"type": "string"},
        "imsx_CodeMinor": {"type": "object"},
    },
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {"application/json": {"schema": _STATUS_INFO}}}
    for status, description in (
        (400, "A filter, sort, fields, limit or offset that cannot be used"),
        (401, "No bearer token, or not one this hub issued"),
        (403, "The token lacks the scope"),
        (404, "No such collection or resource"),
    )
}


class OneRosterError(Exception):
    """Answered in the specification's status format."""

    def __init__(self, status: int, code_minor: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.code_minor = code_minor
        self.description = description


def _status_info(error: OneRosterError) -> JSONResponse:
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": error.description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "TargetEndSystem",
                    "imsx_codeMinorFieldValue": error.code_minor,
                }
            ]
        },
    }
    headers = {"WWW-Authenticate": 'Bearer realm="oneroster"'} if error.status == 401 else None
    return JSONResponse(body, status_code=error.status, headers=headers)


@dataclass
class Publisher:
    hub: Hub
    read_model: RosterReadModel
    signer: TokenSigner


def _publisher(request: Request) -> Publisher:
    found: Publisher = request.app.state.oneroster
    return found


def _access(request: Request) -> Access:
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        raise OneRosterError(401, "unauthorisedrequest", "send 'Authorization: Bearer <token>'")
    try:
        return _publisher(request).signer.read(token, int(time.time()))
    except (TokenError, KeyError) as error:
        raise OneRosterError(401, "unauthorisedrequest", str(error)) from None


AccessDep = Annotated[Access, Depends(_access)]


# -- the token endpoint --------------------------------------------------------------------


@router.post(
    "/ims/oneroster/oauth2/token",
    responses=TOKEN_ERRORS,
    summary="OAuth2 client credentials token (form body; client auth by Basic or in the form)",
)
async def token(request: Request) -> JSONResponse:
    form = await token_form(request)
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "only client_credentials")
    credentials = client_credentials(request, form)
    publisher = _publisher(request)
    try:
        client = await run_in_threadpool(authenticate, publisher.hub, *credentials)
        scopes = granted(client, form.get("scope"))
    except ClientError as error:
        return oauth_error(401, "invalid_client", str(error))
    issued = publisher.signer.issue(client, scopes, int(time.time()))
    return token_response(issued, TOKEN_TTL_S, scopes)


# -- collections ---------------------------------------------------------------------------

Rows = list[Resource]
Load = Callable[[RosterReadModel, str], Rows]


@dataclass(frozen=True)
class Collection:
    """A REST collection: which entity, its singular key, and which of its resources."""

    entity: str
    single: str
    keep: Callable[[Resource], bool] | None = None  # None: every record of the entity

    @property
    def whole(self) -> bool:
        return self.keep is None

    def keeps(self, resource: Resource) -> bool:
        return self.keep is None or self.keep(resource)


def _typed(field: str, value: str) -> Callable[[Resource], bool]:
    return lambda r: r.get(field) == value


def _has_role(role: str) -> Callable[[Resource], bool]:
    return lambda r: any(x.get("role") == role for x in r.get("roles", []))


COLLECTIONS: dict[str, Collection] = {
    "orgs": Collection("orgs", "org"),
    "schools": Collection("orgs", "org", _typed("type", "school")),
    "academicSessions": Collection("academicSessions", "academicSession"),
    "terms": Collection("academicSessions", "academicSession", _typed("type", "term")),
    "gradingPeriods": Collection(
        "academicSessions", "academicSession", _typed("type", "gradingPeriod")
    ),
    "users": Collection("users", "user"),
    "students": Collection("users", "user", _has_role("student")),
    "teachers": Collection("users", "user", _has_role("teacher")),
    "courses": Collection("courses", "course"),
    "classes": Collection("classes", "class"),
    "enrollments": Collection("enrollments", "enrollment"),
    "demographics": Collection("demographics", "demographics"),
}


def load_resources(model: RosterReadModel, tenant: str, entity: str, **narrow: str) -> Rows:
    records = model.sources(tenant, entity, **narrow)
    roles = user_roles(*model.role_rows(tenant)) if entity == "users" else {}
    return [resource(entity, r, roles.get(r.sourced_id)) for r in records]


def _ref_is(field: str, sourced_id: str) -> Callable[[Resource], bool]:
    def keep(r: Resource) -> bool:
        value = r.get(field)
        items = value if isinstance(value, list) else [value]
        return any(isinstance(i, dict) and i.get("sourcedId") == sourced_id for i in items)

    return keep


def _role_in_org(role: str, org: str) -> Callable[[Resource], bool]:
    return lambda r: any(
        x.get("role") == role and x.get("org", {}).get("sourcedId") == org
        for x in r.get("roles", [])
    )


def _scope_for(entity: str) -> str:
    return DEMOGRAPHICS if entity == "demographics" else CORE


def _check_scope(access: Access, entity: str) -> None:
    needed = _scope_for(entity)
    if not access.allows(needed):
        raise OneRosterError(403, "forbidden", f"this needs the scope {needed}")


@dataclass(frozen=True)
class Query:
    """A collection request's checked query parameters."""

    where: Filter
    sort: str | None
    order: str | None
    fields: list[str] | None
    limit: int
    offset: int


def _query(request: Request, entity: str) -> Query:
    params = request.query_params
    known = FIELDS[entity]
    try:
        where = parse_filter(params.get("filter"), known)
        check_sort(params.get("sort"), params.get("orderBy"), known)
        chosen = select_fields(params.get("fields"), known)
        limit, offset = page_bounds(_int(params.get("limit")), _int(params.get("offset")))
    except QueryError as error:
        raise OneRosterError(400, error.code_minor, str(error)) from None
    return Query(where, params.get("sort"), params.get("orderBy"), chosen, limit, offset)


def _respond(request: Request, key: str, entity: str, rows: Rows) -> JSONResponse:
    """A page of `rows`, filtered and sorted here (the fallback for what SQL does not do)."""
    query = _query(request, entity)
    found = sort(
        [r for r in rows if matches(r, query.where)], query.sort, query.order, FIELDS[entity]
    )
    return _page(request, key, query, len(found), found[query.offset : query.offset + query.limit])


def _page(request: Request, key: str, query: Query, total: int, rows: Rows) -> JSONResponse:
    page = [project(r, query.fields) for r in rows]
    headers = {"X-Total-Count": str(total)}
    links = _links(request, total, query.limit, query.offset)
    if links:
        headers["Link"] = links
    return JSONResponse({key: page}, headers=headers)


def sql_page(
    model: RosterReadModel, tenant: str, entity: str, plan: SqlPlan, *, offset: int, limit: int
) -> tuple[int, Rows]:
    """(how many match, the page's resources), filtered, sorted and paged in SQL."""
    total, records = model.collection_page(tenant, entity, plan, offset=offset, limit=limit)
    users = [r.sourced_id for r in records] if entity == "users" else None
    roles = user_roles(*model.role_rows(tenant, users)) if users else {}
    return total, [resource(entity, r, roles.get(r.sourced_id)) for r in records]


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise QueryError("invaliddata", f"{value!r} is not a whole number") from None


def _links(request: Request, total: int, limit: int, offset: int) -> str:
    def url(at: int) -> str:
        query = dict(request.query_params) | {"limit": str(limit), "offset": str(at)}
        return f"{request.url.path}?{urlencode(query)}"

    last = max((total - 1) // limit * limit, 0)
    found = [f'<{url(0)}>; rel="first"', f'<{url(last)}>; rel="last"']
    if offset + limit < total:
        found.append(f'<{url(offset + limit)}>; rel="next"')
    if offset > 0:
        found.append(f'<{url(max(offset - limit, 0))}>; rel="prev"')
    return ", ".join(found)


def _collection(name: str) -> Collection:
    found = COLLECTIONS.get(name)
    if found is None:
        raise OneRosterError(404, "unknownobject", f"no collection {name!r}")
    return found


@router.get(BASE + "/{name}", responses=READ_ERRORS, summary="A OneRoster collection")
async def get_collection(name: str, request: Request, access: AccessDep) -> JSONResponse:
    spec = _collection(name)
    _check_scope(access, spec.entity)
    model = _publisher(request).read_model
    query = _query(request, spec.entity)
    plan = sql_plan(spec.entity, query.where, query.sort, query.order) if spec.whole else None
    if plan is not None:  # the common cases: filtered, sorted and paged in SQL
        page = partial(sql_page, offset=query.offset, limit=query.limit)
        found = await run_in_threadpool(page, model, access.tenant, spec.entity, plan)
        return _page(request, name, query, *found)
    rows = await run_in_threadpool(load_resources, model, access.tenant, spec.entity)
    return _respond(request, name, spec.entity, [r for r in rows if spec.keeps(r)])


@router.get(BASE + "/{name}/{sourced_id}", responses=READ_ERRORS, summary="One OneRoster resource")
async def get_one(name: str, sourced_id: str, request: Request, access: AccessDep) -> JSONResponse:
    spec = _collection(name)
    _check_scope(access, spec.entity)
    model = _publisher(request).read_model
    rows = await run_in_threadpool(
        load_resources, model, access.tenant, spec.entity, sourced_id=sourced_id
    )
    kept = [r for r in rows if spec.keeps(r)]
    if not kept:
        raise OneRosterError(404, "unknownobject", f"no {spec.single} {sourced_id!r}")
    try:
        chosen = select_fields(request.query_params.get("fields"), FIELDS[spec.entity])
    except QueryError as error:
        raise OneRosterError(400, error.code_minor, str(error)) from None
    return JSONResponse({spec.single: project(kept[0], chosen)})


def _enrolled(model: RosterReadModel, tenant: str, role: str | None, **narrow: str) -> list[str]:
    return [
        e.fields.get("userSourcedId" if "class_ref" in narrow else "classSourcedId", "")
        for e in model.sources(tenant, "enrollments", **narrow)
        if role is None or e.fields.get("role") == role
    ]


def _nested(
    model: RosterReadModel, tenant: str, parent: str, sourced_id: str, child: str
) -> tuple[str, Rows] | None:
    """(entity, rows) of a nested collection, or None if there is no such collection."""
    role = {"students": "student", "teachers": "teacher"}.get(child)
    if parent == "schools" and child in {"classes", "courses", "enrollments"}:
        entity = child
        field = {"classes": "school", "courses": "org", "enrollments": "school"}[child]
        return entity, [
            r for r in load_resources(model, tenant, entity) if _ref_is(field, sourced_id)(r)
        ]
    if parent == "schools" and role:
        return "users", [
            r for r in load_resources(model, tenant, "users") if _role_in_org(role, sourced_id)(r)
        ]
    if parent == "classes" and role:
        ids = set(_enrolled(model, tenant, role, class_ref=sourced_id))
        return "users", [r for r in load_resources(model, tenant, "users") if r["sourcedId"] in ids]
    if parent in {"courses", "terms"} and child == "classes":
        field = "course" if parent == "courses" else "terms"
        return "classes", [
            r for r in load_resources(model, tenant, "classes") if _ref_is(field, sourced_id)(r)
        ]
    if parent in {"users", "students", "teachers"} and child == "classes":
        ids = set(_enrolled(model, tenant, None, user_ref=sourced_id))
        return "classes", [
            r for r in load_resources(model, tenant, "classes") if r["sourcedId"] in ids
        ]
    return None


@router.get(
    BASE + "/{parent}/{sourced_id}/{child}",
    responses=READ_ERRORS,
    summary="A nested OneRoster collection",
)
async def get_nested(
    parent: str, sourced_id: str, child: str, request: Request, access: AccessDep
) -> JSONResponse:
    _check_scope(access, "users")
    model = _publisher(request).read_model
    found = await run_in_threadpool(_nested, model, access.tenant, parent, sourced_id, child)
    if found is None:
        raise OneRosterError(404, "unknownobject", f"no collection {parent}/{{id}}/{child}")
    entity, rows = found
    return _respond(request, child, entity, rows)


@router.get(
    BASE + "/schools/{school}/classes/{class_id}/{child}",
    responses=READ_ERRORS,
    summary="A class of a school: its enrollments, students or teachers",
)
async def get_school_class(
    school: str, class_id: str, child: str, request: Request, access: AccessDep
) -> JSONResponse:
    _check_scope(access, "enrollments")
    model = _publisher(request).read_model
    role = {"students": "student", "teachers": "teacher"}.get(child)
    if child == "enrollments":
        rows = await run_in_threadpool(
            load_resources, model, access.tenant, "enrollments", class_ref=class_id
        )
        return _respond(
            request, child, "enrollments", [r for r in rows if _ref_is("school", school)(r)]
        )
    if role is None:
        raise OneRosterError(404, "unknownobject", f"no collection {child!r} of a class")
    found = await run_in_threadpool(_nested, model, access.tenant, "classes", class_id, child)
    assert found is not None
    return _respond(request, child, "users", found[1])


def install_oneroster_rest(
    app: FastAPI, hub: Hub, read_model: RosterReadModel, signer: TokenSigner
) -> Publisher:
    publisher = Publisher(hub, read_model, signer)
    app.state.oneroster = publisher

    async def handle(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, OneRosterError)
        return _status_info(error)

    app.add_exception_handler(OneRosterError, handle)
    app.include_router(router)
    return publisher
