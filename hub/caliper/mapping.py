"""From hub events to Caliper 1.2 events: one reader per source event, found by its topic.

`SOURCES` maps an event's topic (`<module>:<class qualified name>`, a plain string: no
import of the module that defines it) to a reader that returns the Caliper events it
gives: Spark sign-ins and sign-outs (SessionEvent), LTI launches of the hub as a tool
(ToolLaunchEvent Launched, SessionEvent LoggedIn with an LtiSession, AssignableEvent
Started for a task's link) and as a platform (ToolLaunchEvent Launched), page views
(NavigationEvent NavigatedTo, ViewEvent Viewed), submissions (AssignableEvent or
AssessmentEvent Submitted, and GradeEvent Graded when they carry a grade). The reader of
later scores waits in `READY` for its source event (docs/caliper.md says which fields it
reads).

Readers are pure: what they need besides the event (which learner holds an identity,
a task's details) comes through `Lookups`, and the persons through `People`, which
decides whether the tenant sees names or pseudonyms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.utils import get_topic

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

    def synced(self, aggregate_id: str) -> Synced | None:
        """A quest's or task's source and external id (and a task's quest), if known."""


@dataclass(frozen=True)
class Synced:
    """What names a quest or a task outside the hub: they never change."""

    source: str
    external_id: str
    quest_id: str | None = None  # a task's quest


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
    """`WebSession.SignedOut` (`POST /signout`): SessionEvent LoggedOut of the hub. The
    session is the signed-out cookie's (its aggregate id: the person and sign-in time)."""
    hub = application(ctx.iris, "hub")
    session = Session(
        id=ctx.iris.session(event.originator_id),
        user=ctx.people.iri(event.person_id),
        endedAtTime=event.timestamp,
    )
    return [
        _event(
            ctx,
            event,
            "SessionEvent",
            "LoggedOut",
            profile="SessionProfile",
            actor=ctx.people.person(event.person_id),
            object=hub,
            eventTime=event.timestamp,
            edApp=hub,
            session=session,
        )
    ]


def _lti_session(ctx: Context, event: Any, user: str, claims: Mapping[str, Any]) -> LtiSession:
    """The launch's LtiSession: with the claims only for a tenant that shows names (a
    pseudonymous tenant's would hold the learner's LTI `sub`, name and email)."""
    return LtiSession(
        id=ctx.iris.session(event.originator_id) + ":lti",  # not the hub's own Session
        user=user,
        dateCreated=event.timestamp,
        startedAtTime=event.timestamp,
        messageParameters=None if ctx.people.pseudonymous else dict(claims),
    )


def _quest_course(ctx: Context, quest_id: str | None, person_iri: str) -> dict[str, Any]:
    """`group` and `membership` of a hub quest (by its source and external id)."""
    synced = ctx.lookups.synced(quest_id) if quest_id else None
    return {} if synced is None else _course(ctx, synced.source, synced.external_id, person_iri)


def read_tool_launch(event: Any, ctx: Context) -> list[CaliperEvent]:
    """`LtiLaunch.Accepted` of the hub as a tool (a platform launched the hub):
    ToolLaunchEvent Launched (object the hub, edApp the platform, target the resource
    link), SessionEvent LoggedIn to the hub, both with the LtiSession as
    `federatedSession`, and, for a resource link that opens a hub task, AssignableEvent
    Started (the learner starts the assignment)."""
    claims: Mapping[str, Any] = event.claims or {}
    actor = ctx.people.person(
        event.learner_id,
        name=str(claims.get("name", "")),
        source="lti",
        external_id=str(claims.get("sub", "")),
    )
    hub = application(ctx.iris, "hub")
    platform = SoftwareApplication(id=str(claims["iss"]))
    lti_session = _lti_session(ctx, event, actor.id, claims)
    course = _quest_course(ctx, event.quest_id, actor.id)
    common = {"actor": actor, "eventTime": event.timestamp, **course}
    link = event.resource_link
    launched = _event(
        ctx,
        event,
        "ToolLaunchEvent",
        "Launched",
        profile="ToolLaunchProfile",
        object=hub,
        edApp=platform,
        target=DigitalResource(id=ctx.iris.link(link)) if link else None,
        federatedSession=lti_session,
        **common,
    )
    logged_in = _event(
        ctx,
        event,
        "SessionEvent",
        "LoggedIn",
        profile="SessionProfile",
        object=hub,
        edApp=hub,
        session=Session(
            id=ctx.iris.session(event.originator_id),
            user=actor.id,
            dateCreated=event.timestamp,
            startedAtTime=event.timestamp,
        ),
        federatedSession=lti_session,
        **common,
    )
    started = _started(event, ctx, event.learner_id) if link and event.task_id else []
    return [launched, logged_in, *started]


def _started(event: Any, ctx: Context, learner: str) -> list[CaliperEvent]:
    """AssignableEvent Started of the hub task `event.task_id` (none if it is unknown)."""
    task = ctx.lookups.synced(event.task_id)
    if task is None:
        return []
    quest = ctx.lookups.synced(task.quest_id) if task.quest_id else None
    course_key = quest.external_id if quest is not None else ""
    assignable = _assignable(ctx, task.source, task.external_id, course_key)
    person = ctx.people.iri(learner)
    attempt = Attempt(
        id=ctx.iris.attempt(event.originator_id),
        assignee=person,
        assignable=assignable.id,
        dateCreated=event.timestamp,
        startedAtTime=event.timestamp,
    )
    return [
        _event(
            ctx,
            event,
            "AssignableEvent",
            "Started",
            profile="AssignableProfile",
            actor=ctx.people.person(learner),
            object=assignable,
            generated=attempt,
            eventTime=event.timestamp,
            edApp=application(ctx.iris, "hub"),
            **_course(ctx, task.source, course_key, person),
        )
    ]


def read_platform_launch(event: Any, ctx: Context) -> list[CaliperEvent]:
    """`LtiLaunch.Accepted` of the hub as a platform (a person launched a tool from the
    hub): ToolLaunchEvent Launched (object the tool, edApp the hub, target the resource
    link), with the LtiSession of the id_token the hub sent as `federatedSession`."""
    actor = ctx.people.person(event.user_id)
    hub = application(ctx.iris, "hub")
    quest = f"{ctx.tenant}.Quest.{event.context_id}" if event.context_id else None
    link = event.link_id
    return [
        _event(
            ctx,
            event,
            "ToolLaunchEvent",
            "Launched",
            profile="ToolLaunchProfile",
            actor=actor,
            object=SoftwareApplication(id=ctx.iris.tool(event.client_id)),
            target=DigitalResource(id=ctx.iris.platform_link(link)) if link else None,
            eventTime=event.timestamp,
            edApp=hub,
            federatedSession=_lti_session(ctx, event, actor.id, event.claims or {}),
            **_quest_course(ctx, quest, actor.id),
        )
    ]


# Page views -------------------------------------------------------------------------------


def read_page_view(event: Any, ctx: Context) -> list[CaliperEvent]:
    """`PageView.Viewed`: NavigationEvent NavigatedTo the page and ViewEvent Viewed it.

    The page is a WebPage: the dashboard (`isPartOf` the course when it shows one quest,
    which is then the `group`), or one person's portfolio, named by that person's IRI
    (their pseudonym for a pseudonymous tenant), never by the hub's learner id.
    """
    actor = ctx.people.person(event.viewer_id)
    course = _quest_course(ctx, event.quest_id or None, actor.id)
    group = course.get("group")
    owner = ctx.people.iri(event.owner_id).rsplit(":", 1)[-1] if event.owner_id else ""
    page = DigitalResource(
        id=ctx.iris.page(event.page, owner),
        type="WebPage",
        name=None if ctx.people.pseudonymous else (event.title or None),
        isPartOf=group.id if group is not None else None,
    )
    common: dict[str, Any] = {
        "actor": actor,
        "object": page,
        "eventTime": event.timestamp,
        "edApp": application(ctx.iris, "hub"),
        **course,
    }
    return [
        _event(ctx, event, "NavigationEvent", "NavigatedTo", profile="ReadingProfile", **common),
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


def _assignable(
    ctx: Context, source: str, assignment_key: str, course_key: str
) -> AssignableDigitalResource:
    """The synced task as an AssignableDigitalResource (an Assessment for a quiz or test)."""
    details = ctx.lookups.task_details(ctx.tenant, source, assignment_key)
    kind = str(details.get("assignment_type") or "").lower()
    max_points = details.get("max_points")
    return AssignableDigitalResource(
        id=ctx.iris.assignment(source, assignment_key),
        type="Assessment" if kind in ASSESSMENT_TYPES else "AssignableDigitalResource",
        name=details.get("title") or None,
        isPartOf=ctx.iris.course(source, course_key) if course_key else None,
        maxScore=float(max_points) if max_points else None,
    )


def _work(ctx: Context, submission: Any, *, learner: str, source: str) -> Work:
    """`submission`: its `assignment_key`, `course_key`, `submitted_at` and `submission_id`
    (or `originator_id`, for the submission itself)."""
    assignment_key, course_key = submission.assignment_key, submission.course_key
    submission_id = getattr(submission, "submission_id", None) or submission.originator_id
    assignable = _assignable(ctx, source, assignment_key, course_key)
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
    "hub.domain.lti_tool:LtiLaunch.Accepted": read_tool_launch,
    "hub.domain.lti_platform:LtiLaunch.Accepted": read_platform_launch,
    "hub.caliper.activity:PageView.Viewed": read_page_view,
    "hub.caliper.activity:WebSession.SignedOut": read_sign_out,
}
"""Topic of a hub event -> its reader. Add an entry to map another event."""

READY: dict[str, Reader] = {
    "GradeEvent": read_score,
}
"""Readers whose source events have not landed yet (docs/caliper.md lists their fields)."""


def qualname_of(topic: str) -> str:
    return topic.split(":", 1)[-1]


def map_event(
    event: Any, ctx: Context, table: Mapping[str, Reader] | None = None
) -> list[CaliperEvent]:
    """The Caliper events `event` gives (none if no reader knows its topic: the module and
    the class, since the tool's and the platform's `LtiLaunch.Accepted` share a name)."""
    reader = (SOURCES if table is None else table).get(get_topic(type(event)))
    return [] if reader is None else reader(event, ctx)
