"""From hub events to Caliper 1.2 events: one reader per source event, found by its topic.

`SOURCES` maps an event's topic (`<module>:<class qualified name>`, a plain string: no
import of the module that defines it) to a reader that returns the Caliper events it
gives. Today: Spark sign-ins (SessionEvent LoggedIn) and submissions (AssignableEvent or
AssessmentEvent Submitted, and GradeEvent Graded when they carry a grade). The readers
for LTI launches (ToolLaunchEvent Launched + SessionEvent LoggedIn with an LtiSession),
page views (NavigationEvent, ViewEvent), sign-outs and later scores are here too, in
`READY`: wiring one is adding its source's topic to `SOURCES` (docs/caliper.md says which
fields each reads).

Readers are pure: what they need besides the event (which learner holds an identity,
a task's details) comes through `Lookups`, and the persons through `People`, which
decides whether the tenant sees names or pseudonyms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hub.caliper.iris import Iris, People, application, caliper_event_id
from hub.domain.base import tenant_of
from hub.domain.learners import learner_id as first_learner_id
from schemas.caliper import (
    AssignableDigitalResource,
    Attempt,
    CaliperEvent,
    CourseSection,
    DigitalResource,
    LtiSession,
    Membership,
    Score,
    Session,
    SoftwareApplication,
)

ASSESSMENT_TYPES = frozenset({"quiz", "test", "exam", "assessment"})


class Lookups(Protocol):
    """What readers may ask of the hub's state."""

    def learner_of(self, tenant: str, source: str, external_id: str) -> str | None:
        """The hub learner who holds this external identity, if known."""

    def task_details(self, tenant: str, source: str, external_id: str) -> Mapping[str, Any]:
        """The synced task's details (title, max_points, assignment_type), or {}."""


@dataclass(frozen=True)
class Context:
    """One tenant's view: its IRIs, how it shows persons, and the lookups."""

    iris: Iris
    people: People
    lookups: Lookups

    @property
    def tenant(self) -> str:
        return self.iris.tenant


Reader = Callable[[Any, Context], list[CaliperEvent]]


def source_key(event: Any) -> str:
    return f"{event.originator_id}@{event.originator_version}"


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _event(ctx: Context, source: Any, type_: str, action: str, **slots: Any) -> CaliperEvent:
    return CaliperEvent(
        id=caliper_event_id(ctx.tenant, source_key(source), f"{type_}.{action}"),
        type=type_,
        action=action,
        **slots,
    )


def _course(ctx: Context, source: str, key: str, person_iri: str) -> dict[str, Any]:
    """`group` and `membership` of an event in a course (none without a course)."""
    if not key:
        return {}
    course = ctx.iris.course(source, key)
    member = Membership(
        id=ctx.iris.membership(course, person_iri), member=person_iri, organization=course
    )
    return {"group": CourseSection(id=course, courseNumber=key), "membership": member}


# Sign-ins and sign-outs -------------------------------------------------------------------


def read_sso_sign_in(event: Any, ctx: Context) -> list[CaliperEvent]:
    """`SsoToken.Accepted` (Spark SSO): SessionEvent LoggedIn to the hub."""
    claims: Mapping[str, Any] = event.claims or {}
    name = f"{claims.get('given_name', '')} {claims.get('family_name', '')}".strip()
    actor = ctx.people.person(
        event.learner_id, name=name, source="spark", external_id=str(event.subject)
    )
    hub = application(ctx.iris, "hub")
    session = Session(
        id=ctx.iris.session(event.originator_id),
        user=actor.id,
        dateCreated=event.timestamp,
        startedAtTime=event.timestamp,
    )
    return [
        _event(
            ctx,
            event,
            "SessionEvent",
            "LoggedIn",
            profile="SessionProfile",
            actor=actor,
            object=hub,
            eventTime=event.timestamp,
            edApp=hub,
            session=session,
        )
    ]


def read_sign_out(event: Any, ctx: Context) -> list[CaliperEvent]:
    """A sign-out event with `learner_id` and `session_id` (the sign-in's aggregate id)."""
    hub = application(ctx.iris, "hub")
    session = Session(
        id=ctx.iris.session(event.session_id),
        user=ctx.people.iri(event.learner_id),
        endedAtTime=event.timestamp,
    )
    return [
        _event(
            ctx,
            event,
            "SessionEvent",
            "LoggedOut",
            profile="SessionProfile",
            actor=ctx.people.person(event.learner_id),
            object=hub,
            eventTime=event.timestamp,
            edApp=hub,
            session=session,
        )
    ]


def read_lti_launch(event: Any, ctx: Context) -> list[CaliperEvent]:
    """An LTI launch with `learner_id`, `claims` (the verified id_token), `context_id` and
    `tool_url`: ToolLaunchEvent Launched, and SessionEvent LoggedIn with its LtiSession.

    The LtiSession carries the claims only for a tenant that shows names: a pseudonymous
    tenant's would hold the learner's LTI `sub`, name and email.
    """
    claims: Mapping[str, Any] = event.claims or {}
    actor = ctx.people.person(
        event.learner_id,
        name=str(claims.get("name", "")),
        source="lti",
        external_id=str(claims.get("sub", "")),
    )
    tool = SoftwareApplication(id=str(event.tool_url))
    hub = application(ctx.iris, "hub")
    lti_session = LtiSession(
        id=ctx.iris.session(event.originator_id),
        user=actor.id,
        dateCreated=event.timestamp,
        startedAtTime=event.timestamp,
        messageParameters=None if ctx.people.pseudonymous else dict(claims),
    )
    course = _course(ctx, "lti", str(getattr(event, "context_id", "") or ""), actor.id)
    common = {"actor": actor, "eventTime": event.timestamp, "edApp": hub, **course}
    return [
        _event(
            ctx,
            event,
            "ToolLaunchEvent",
            "Launched",
            profile="ToolLaunchProfile",
            object=tool,
            federatedSession=lti_session,
            **common,
        ),
        _event(
            ctx,
            event,
            "SessionEvent",
            "LoggedIn",
            profile="SessionProfile",
            object=hub,
            federatedSession=lti_session,
            **common,
        ),
    ]


# Page views -------------------------------------------------------------------------------


def read_page_view(event: Any, ctx: Context) -> list[CaliperEvent]:
    """A page view with `learner_id`, `path`, `title` and `referrer` (a path or ""):
    NavigationEvent NavigatedTo the page, and ViewEvent Viewed it."""
    hub = application(ctx.iris, "hub")
    page = DigitalResource(
        id=ctx.iris.page(event.path), type="WebPage", name=getattr(event, "title", None) or None
    )
    referrer = getattr(event, "referrer", "") or None
    common: dict[str, Any] = {
        "actor": ctx.people.person(event.learner_id),
        "object": page,
        "eventTime": event.timestamp,
        "edApp": hub,
    }
    return [
        _event(
            ctx,
            event,
            "NavigationEvent",
            "NavigatedTo",
            profile="ReadingProfile",
            referrer=DigitalResource(id=ctx.iris.page(referrer), type="WebPage")
            if referrer
            else None,
            **common,
        ),
        _event(ctx, event, "ViewEvent", "Viewed", profile="ReadingProfile", **common),
    ]


# Submissions and grades -------------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """A learner's attempt at an assignment, as Caliper entities."""

    assignable: AssignableDigitalResource
    attempt: Attempt
    course: dict[str, Any]
    app: SoftwareApplication


def _work(ctx: Context, submission: Any, *, learner: str, source: str) -> Work:
    """`submission`: its `assignment_key`, `course_key`, `submitted_at` and `submission_id`
    (or `originator_id`, for the submission itself)."""
    assignment_key, course_key = submission.assignment_key, submission.course_key
    submission_id = getattr(submission, "submission_id", None) or submission.originator_id
    details = ctx.lookups.task_details(ctx.tenant, source, assignment_key)
    kind = str(details.get("assignment_type") or "").lower()
    max_points = details.get("max_points")
    assignable = AssignableDigitalResource(
        id=ctx.iris.assignment(source, assignment_key),
        type="Assessment" if kind in ASSESSMENT_TYPES else "AssignableDigitalResource",
        name=details.get("title") or None,
        isPartOf=ctx.iris.course(source, course_key) if course_key else None,
        maxScore=float(max_points) if max_points else None,
    )
    person = ctx.people.iri(learner)
    submitted = _moment(submission.submitted_at)
    attempt = Attempt(
        id=ctx.iris.attempt(submission_id),
        assignee=person,
        assignable=assignable.id,
        dateCreated=submitted,
        endedAtTime=submitted,
    )
    course = _course(ctx, source, course_key, person)
    return Work(assignable, attempt, course, application(ctx.iris, source))


def read_submission(event: Any, ctx: Context) -> list[CaliperEvent]:
    """`Submission.Received`: AssignableEvent Submitted (AssessmentEvent for a quiz, test or
    exam), and GradeEvent Graded when the submission carries a grade."""
    source = str(event.source)
    learner = ctx.lookups.learner_of(ctx.tenant, source, event.learner_key) or first_learner_id(
        tenant_of(event.originator_id), source, event.learner_key
    )
    work = _work(ctx, event, learner=learner, source=source)
    assessment = work.assignable.type == "Assessment"
    type_ = "AssessmentEvent" if assessment else "AssignableEvent"
    submitted = _event(
        ctx,
        event,
        type_,
        "Submitted",
        profile="AssessmentProfile" if assessment else "AssignableProfile",
        actor=ctx.people.person(learner, source=source, external_id=event.learner_key),
        object=work.assignable,
        generated=work.attempt,
        eventTime=_moment(event.submitted_at),
        edApp=work.app,
        **work.course,
    )
    if event.grade is None:
        return [submitted]
    return [submitted, _graded(event, ctx, work, float(event.grade), event.timestamp)]


def _graded(event: Any, ctx: Context, work: Work, given: float, at: datetime) -> CaliperEvent:
    score = Score(
        id=ctx.iris.score(source_key(event)),
        attempt=work.attempt.id,
        scoreGiven=given,
        maxScore=work.assignable.maxScore,
        scoredBy=work.app.id,
        dateCreated=at,
    )
    return _event(
        ctx,
        event,
        "GradeEvent",
        "Graded",
        profile="GradingProfile",
        actor=work.app,
        object=work.attempt,
        generated=score,
        eventTime=at,
        edApp=work.app,
        group=work.course.get("group"),
    )


def read_score(event: Any, ctx: Context) -> list[CaliperEvent]:
    """A later score (an LTI AGS score, a teacher's grading) with the graded submission's
    fields (`source`, `learner_key`, `assignment_key`, `course_key`, `submitted_at`,
    `submission_id`) and `score`: GradeEvent Graded of that submission's attempt."""
    source = str(event.source)
    learner = ctx.lookups.learner_of(ctx.tenant, source, event.learner_key) or first_learner_id(
        ctx.tenant, source, event.learner_key
    )
    work = _work(ctx, event, learner=learner, source=source)
    return [_graded(event, ctx, work, float(event.score), event.timestamp)]


# The table --------------------------------------------------------------------------------

SOURCES: dict[str, Reader] = {
    "hub.domain.spark:SsoToken.Accepted": read_sso_sign_in,
    "hub.domain.submissions:Submission.Received": read_submission,
}
"""Topic of a hub event -> its reader. Add an entry to map another event."""

READY: dict[str, Reader] = {
    "ToolLaunchEvent": read_lti_launch,
    "NavigationEvent": read_page_view,
    "SignOut": read_sign_out,
    "GradeEvent": read_score,
}
"""Readers whose source events have not landed yet (docs/caliper.md lists their fields)."""


def qualname_of(topic: str) -> str:
    return topic.split(":", 1)[-1]


def map_event(
    event: Any, ctx: Context, table: Mapping[str, Reader] | None = None
) -> list[CaliperEvent]:
    """The Caliper events `event` gives (none if no reader knows its class)."""
    readers = SOURCES if table is None else table
    by_name = {qualname_of(topic): reader for topic, reader in readers.items()}
    reader = by_name.get(type(event).__qualname__)
    return [] if reader is None else reader(event, ctx)
