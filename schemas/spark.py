"""What Spark sends and serves: SSO claims, webhooks, its course API, and grade passback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints

ShortId = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class _Inbound(BaseModel):
    # Partners add fields over time: unknown ones are kept in the verified body, not refused.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SsoClaims(_Inbound):
    """Claims of Spark's HS256 SSO token (seed 000, with seed 001's optional extras)."""

    sub: ShortId
    email: Annotated[
        str, StringConstraints(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    ]
    given_name: Annotated[str, StringConstraints(max_length=200)] = ""
    family_name: Annotated[str, StringConstraints(max_length=200)] = ""
    role: Literal["student", "parent", "admin"] = "student"
    iat: int
    exp: int
    iss: str | None = None
    nonce: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    spark_course_ids: list[ShortId] = Field(default_factory=list, max_length=500)


class SubmissionFile(_Inbound):
    """A file by temporary URL, or embedded as base64 (seed 001's fallback)."""

    url: HttpUrl | None = None
    content_base64: str | None = None
    type: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class SubmissionWebhook(_Inbound):
    spark_user_id: ShortId
    spark_assignment_id: ShortId
    spark_course_id: ShortId
    submission_text: Annotated[str, StringConstraints(max_length=200_000)] = ""
    submission_files: list[SubmissionFile] = Field(default_factory=list, max_length=20)
    submitted_at: datetime
    grade: float | None = Field(default=None, ge=0)


class RosterWebhook(_Inbound):
    spark_user_id: ShortId
    spark_course_id: ShortId
    action: Literal["enroll", "drop"]


class SparkCourse(_Inbound):
    id: ShortId
    title: str
    description: str = ""
    category: str | None = None
    grade_level: str | None = None
    duration_hours: float | None = None
    assignments: list[ShortId] = Field(default_factory=list)


class SparkCourseList(_Inbound):
    courses: list[SparkCourse]


class SparkAssignment(_Inbound):
    id: ShortId
    title: str
    description: str = ""
    assignment_type: str | None = None
    estimated_hours: float | None = None
    max_points: float | None = None
    due_at: datetime | None = None


class SparkAssignmentList(_Inbound):
    course_id: ShortId
    assignments: list[SparkAssignment]


class GradePassback(BaseModel):
    """What the hub POSTs to `{spark}/grades`."""

    model_config = ConfigDict(frozen=True)

    spark_user_id: str
    spark_assignment_id: str
    score: float
    max_score: float
    completed_at: datetime
