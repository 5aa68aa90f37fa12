"""Building OneRoster 1.2 CSV bundles for tests, from rows given as dicts."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from schemas.oneroster import FILES

Rows = list[dict[str, str]]


def csv_text(name: str, rows: Rows, header: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = header or list(FILES[name].header)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return out.getvalue()


def manifest_text(modes: dict[str, str]) -> str:
    rows = [["manifest.version", "1.0"], ["oneroster.version", "1.2"]]
    rows += [[f"file.{name}", modes.get(name, "absent")] for name in FILES]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["propertyName", "value"])
    writer.writerows(rows)
    return out.getvalue()


def write_bundle(
    path: Path,
    files: dict[str, Rows],
    *,
    mode: str = "bulk",
    headers: dict[str, list[str]] | None = None,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A zip with a manifest saying `mode` for each of `files` (absent for the rest)."""
    headers = headers or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("manifest.csv", manifest_text(dict.fromkeys(files, mode)))
        for name, rows in files.items():
            bundle.writestr(f"{name}.csv", csv_text(name, rows, headers.get(name)))
        for name, data in (extra or {}).items():
            bundle.writestr(name, data)
    return path


def school() -> dict[str, Rows]:
    """A small valid roster: a school, a term, a course, a class, a teacher, two students
    (one with a parent), their enrolments."""
    return {
        "orgs": [{"sourcedId": "org-1", "name": "Hill School", "type": "school"}],
        "academicSessions": [
            {
                "sourcedId": "term-1",
                "title": "Autumn",
                "type": "term",
                "startDate": "2025-09-01",
                "endDate": "2025-12-19",
                "schoolYear": "2026",
            }
        ],
        "users": [
            _user("t-1", "Tess", "Teacher", "tess@hill.example"),
            _user("s-1", "Sam", "Student", "sam@hill.example", agents="p-1"),
            _user("s-2", "Ada", "Student", "=cmd|' /C calc'!A0"),
            _user("p-1", "Pat", "Parent", "pat@hill.example"),
        ],
        "courses": [{"sourcedId": "course-1", "title": "Biology", "orgSourcedId": "org-1"}],
        "classes": [
            {
                "sourcedId": "class-1",
                "title": "Biology 7A",
                "courseSourcedId": "course-1",
                "classType": "scheduled",
                "schoolSourcedId": "org-1",
                "termSourcedIds": "term-1",
            }
        ],
        "enrollments": [
            _enrolment("e-1", "t-1", "teacher"),
            _enrolment("e-2", "s-1", "student"),
            _enrolment("e-3", "s-2", "student"),
        ],
    }


def _user(sourced_id: str, given: str, family: str, email: str, agents: str = "") -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "enabledUser": "true",
        "username": sourced_id,
        "givenName": given,
        "familyName": family,
        "email": email,
        "agentSourcedIds": agents,
        "primaryOrgSourcedId": "org-1",
    }


def _enrolment(sourced_id: str, user: str, role: str) -> dict[str, str]:
    return {
        "sourcedId": sourced_id,
        "classSourcedId": "class-1",
        "schoolSourcedId": "org-1",
        "userSourcedId": user,
        "role": role,
    }
