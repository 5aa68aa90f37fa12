"""Roster records (1.2 CSV fields) as OneRoster 1.2 REST resources (JSON binding).

A CSV reference column becomes a reference object `{href, sourcedId, type}`, a list
column a JSON list, a boolean column a boolean; `metadata.*` columns become the
`metadata` object; blank `status` / `dateLastModified` (bulk imports) become `active`
and the time the record was recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from schemas.oneroster import FILES

BASE = "/ims/oneroster/rostering/v1p2"
Resource = dict[str, Any]


class Source(Protocol):
    """A record as the read model holds it (`projections.roster.RosterRecord`)."""

    @property
    def sourced_id(self) -> str: ...

    @property
    def fields(self) -> Mapping[str, str]: ...

    @property
    def recorded_at(self) -> str: ...


def ref(kind: str, collection: str, sourced_id: str) -> dict[str, str]:
    return {"href": f"{BASE}/{collection}/{sourced_id}", "sourcedId": sourced_id, "type": kind}


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _base(source: Source) -> Resource:
    fields = source.fields
    resource: Resource = {
        "sourcedId": source.sourced_id,
        "status": fields.get("status") or "active",
        "dateLastModified": fields.get("dateLastModified") or source.recorded_at,
    }
    metadata = {
        k.removeprefix("metadata."): v for k, v in fields.items() if k.startswith("metadata.")
    }
    if metadata:
        resource["metadata"] = metadata
    return resource


# What each column becomes: (json name, converter of the cell), by file.
Convert = Callable[[str], Any]


def _refs(kind: str, collection: str) -> Convert:
    return lambda value: [ref(kind, collection, item) for item in _list(value)]


def _one(kind: str, collection: str) -> Convert:
    return lambda value: ref(kind, collection, value)


def _text(value: str) -> str:
    return value


def _bool(value: str) -> bool:
    return value == "true"


def _user_ids(value: str) -> list[dict[str, str]]:
    found = []
    for item in _list(value):
        kind, _, identifier = item.strip("{}").partition(":")
        found.append({"type": kind, "identifier": identifier})
    return found


_SESSION = _one("academicSession", "academicSessions")
_ORG = _one("org", "orgs")
_COLUMNS: dict[str, dict[str, tuple[str, Convert]]] = {
    "orgs": {
        "name": ("name", _text),
        "type": ("type", _text),
        "identifier": ("identifier", _text),
        "parentSourcedId": ("parent", _ORG),
    },
    "academicSessions": {
        "title": ("title", _text),
        "type": ("type", _text),
        "startDate": ("startDate", _text),
        "endDate": ("endDate", _text),
        "parentSourcedId": ("parent", _SESSION),
        "schoolYear": ("schoolYear", _text),
    },
    "users": {
        "enabledUser": ("enabledUser", _bool),
        "username": ("username", _text),
        "userIds": ("userIds", _user_ids),
        "givenName": ("givenName", _text),
        "familyName": ("familyName", _text),
        "middleName": ("middleName", _text),
        "identifier": ("identifier", _text),
        "email": ("email", _text),
        "sms": ("sms", _text),
        "phone": ("phone", _text),
        "agentSourcedIds": ("agents", _refs("user", "users")),
        "grades": ("grades", _list),
        "userMasterIdentifier": ("userMasterIdentifier", _text),
        "resourceSourcedIds": ("resources", _refs("resource", "resources")),
        "preferredGivenName": ("preferredFirstName", _text),
        "preferredMiddleName": ("preferredMiddleName", _text),
        "preferredFamilyName": ("preferredLastName", _text),
        "primaryOrgSourcedId": ("primaryOrg", _ORG),
        "pronouns": ("pronouns", _text),
    },
    "courses": {
        "schoolYearSourcedId": ("schoolYear", _SESSION),
        "title": ("title", _text),
        "courseCode": ("courseCode", _text),
        "grades": ("grades", _list),
        "orgSourcedId": ("org", _ORG),
        "subjects": ("subjects", _list),
        "subjectCodes": ("subjectCodes", _list),
    },
    "classes": {
        "title": ("title", _text),
        "grades": ("grades", _list),
        "courseSourcedId": ("course", _one("course", "courses")),
        "classCode": ("classCode", _text),
        "classType": ("classType", _text),
        "location": ("location", _text),
        "schoolSourcedId": ("school", _ORG),
        "termSourcedIds": ("terms", _refs("academicSession", "academicSessions")),
        "subjects": ("subjects", _list),
        "subjectCodes": ("subjectCodes", _list),
        "periods": ("periods", _list),
    },
    "enrollments": {
        "classSourcedId": ("class", _one("class", "classes")),
        "schoolSourcedId": ("school", _ORG),
        "userSourcedId": ("user", _one("user", "users")),
        "role": ("role", _text),
        "primary": ("primary", _bool),
        "beginDate": ("beginDate", _text),
        "endDate": ("endDate", _text),
    },
    "demographics": {},
}
_COMMON = ("sourcedId", "status", "dateLastModified", "metadata")
_EXTRA = {
    "users": frozenset({"roles"}),
    "demographics": frozenset(c.name for c in FILES["demographics"].data_columns),
}
FIELDS: dict[str, frozenset[str]] = {
    entity: frozenset({*_COMMON, *(name for name, _ in columns.values())})
    | _EXTRA.get(entity, frozenset())
    for entity, columns in _COLUMNS.items()
}
_PLAIN = frozenset({"sourcedId", "status", "dateLastModified"})


def resource(entity: str, source: Source, roles: list[dict[str, Any]] | None = None) -> Resource:
    """The REST resource of `source`, a record of `entity` (a users record takes `roles`)."""
    found = _base(source)
    columns = _COLUMNS[entity]
    for column, value in source.fields.items():
        if not value or column in _PLAIN or column.startswith("metadata."):
            continue
        if column in columns:
            name, convert = columns[column]
            found[name] = convert(value)
        elif not columns:  # demographics: every column as it is
            found[column] = value
    if entity == "users":
        found["roles"] = roles or []
    return found


def role_of(fields: Mapping[str, str], *, from_enrollment: bool) -> dict[str, Any]:
    """A user's role object, from a roles.csv record or (without one) from an enrolment."""
    org = fields.get("orgSourcedId" if not from_enrollment else "schoolSourcedId", "")
    role: dict[str, Any] = {
        "roleType": "primary" if from_enrollment else fields.get("roleType", "primary"),
        "role": fields.get("role", ""),
        "org": ref("org", "orgs", org),
    }
    for column in ("beginDate", "endDate"):
        if fields.get(column):
            role[column] = fields[column]
    return role


def user_roles(
    roles: list[tuple[str, dict[str, str]]], enrolled: list[tuple[str, str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """Each user's roles: from their roles.csv records, else from their enrolments."""
    found: dict[str, list[dict[str, Any]]] = {}
    for user, fields in roles:
        found.setdefault(user, []).append(role_of(fields, from_enrollment=False))
    derived: dict[str, list[dict[str, Any]]] = {}
    for user, role, org in enrolled:
        if user not in found:
            fields = {"role": role, "schoolSourcedId": org}
            derived.setdefault(user, []).append(role_of(fields, from_enrollment=True))
    return found | derived


def _cell(value: Any) -> str:
    """A REST value as a CSV cell: a reference by its sourcedId, a list comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        if "identifier" in value and "type" in value:
            return "{" + f"{value['type']}:{value['identifier']}" + "}"
        return str(value.get("sourcedId", ""))
    if isinstance(value, list):
        return ",".join(_cell(item) for item in value)
    return "" if value is None else str(value)


def to_fields(entity: str, found: Mapping[str, Any], *, delta: bool) -> dict[str, str]:
    """A REST resource back to its 1.2 CSV cells (what a OneRoster REST pull imports)."""
    fields = {"sourcedId": str(found.get("sourcedId", ""))}
    if delta:
        fields["status"] = str(found.get("status", "active"))
        fields["dateLastModified"] = str(found.get("dateLastModified", ""))
    columns = _COLUMNS[entity]
    if columns:
        for column, (name, _) in columns.items():
            if name in found:
                fields[column] = _cell(found[name])
    else:
        for column in FILES[entity].header[3:]:
            if column in found:
                fields[column] = _cell(found[column])
    for key, value in (found.get("metadata") or {}).items():
        fields[f"metadata.{key}"] = _cell(value)
    return fields
