"""Caliper 1.2 rules the JSON schemas do not check: actions per event type, entity types per slot.

From the specification's metric profiles (1EdTech Caliper Analytics 1.2, §3 and appendix B).
`validate_event`, `validate_entity` and `validate_envelope` work on plain JSON (dicts as
they travel), so the same rules check the hub's own events and the specification's
examples; each raises `CaliperValidationError` listing every broken rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

CONTEXT = "http://purl.imsglobal.org/ctx/caliper/v1p2"
DATA_VERSION = CONTEXT
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")


class CaliperValidationError(ValueError):
    """Raised when an event, entity or envelope breaks a Caliper 1.2 rule; `problems` lists them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# Entity types, each with its parent (`Entity` is the root). --------------------------------

PARENT: dict[str, str] = {
    "Agent": "Entity",
    "Person": "Agent",
    "SoftwareApplication": "Agent",
    "Organization": "Agent",
    "CourseOffering": "Organization",
    "CourseSection": "CourseOffering",
    "Group": "Organization",
    "DigitalResource": "Entity",
    "AssignableDigitalResource": "DigitalResource",
    "Assessment": "AssignableDigitalResource",
    "AssessmentItem": "AssignableDigitalResource",
    "Chapter": "DigitalResource",
    "Document": "DigitalResource",
    "Frame": "DigitalResource",
    "Page": "DigitalResource",
    "WebPage": "DigitalResource",
    "MediaObject": "DigitalResource",
    "AudioObject": "MediaObject",
    "ImageObject": "MediaObject",
    "VideoObject": "MediaObject",
    "DigitalResourceCollection": "DigitalResource",
    "Forum": "DigitalResourceCollection",
    "Thread": "DigitalResourceCollection",
    "Message": "DigitalResource",
    "Questionnaire": "DigitalResourceCollection",
    "QuestionnaireItem": "DigitalResource",
    "Collection": "Entity",
    "Survey": "Collection",
    "AggregateMeasureCollection": "Collection",
    "SurveyInvitation": "Entity",
    "Link": "Entity",
    "LtiLink": "Link",
    "Annotation": "Entity",
    "BookmarkAnnotation": "Annotation",
    "HighlightAnnotation": "Annotation",
    "SharedAnnotation": "Annotation",
    "TagAnnotation": "Annotation",
    "Attempt": "Entity",
    "Score": "Entity",
    "Result": "Entity",
    "Response": "Entity",
    "DateTimeResponse": "Response",
    "FillinBlankResponse": "Response",
    "MultipleChoiceResponse": "Response",
    "MultipleResponseResponse": "Response",
    "MultiselectResponse": "Response",
    "OpenEndedResponse": "Response",
    "RatingScaleResponse": "Response",
    "SelectTextResponse": "Response",
    "TrueFalseResponse": "Response",
    "Comment": "Entity",
    "Rating": "Entity",
    "Session": "Entity",
    "LtiSession": "Session",
    "Membership": "Entity",
    "MediaLocation": "Entity",
    "LearningObjective": "Entity",
    "Query": "Entity",
    "SearchResponse": "Entity",
    "AggregateMeasure": "Entity",
    "Question": "Entity",
    "DateTimeQuestion": "Question",
    "MultiselectQuestion": "Question",
    "OpenEndedQuestion": "Question",
    "RatingScaleQuestion": "Question",
    "Scale": "Entity",
    "LikertScale": "Scale",
    "MultiselectScale": "Scale",
    "NumericScale": "Scale",
}
ENTITY_TYPES = frozenset({"Entity", *PARENT})


def is_a(entity_type: str, ancestor: str) -> bool:
    """Whether `entity_type` is `ancestor` or one of its subtypes."""
    current: str | None = entity_type
    while current is not None:
        if current == ancestor:
            return True
        current = PARENT.get(current)
    return False


# Actions (the Caliper 1.2 action vocabulary) and the rules of each event type. ------------

_ACTIONS_WORDS = """
Abandoned Accepted Activated Added Archived Attached Bookmarked ChangedResolution
ChangedSize ChangedSpeed ChangedVolume Classified ClosedPopout Commented Completed Copied
Created Deactivated Declined Deleted Described DisabledClosedCaptioning Disliked Downloaded
EnabledClosedCaptioning Ended EnteredFullScreen ExitedFullScreen ForwardedTo Graded Hid
Highlighted Identified JumpedTo Launched Liked Linked LoggedIn LoggedOut MarkedAsRead
MarkedAsUnread Modified Muted NavigatedTo OpenedPopout OptedIn OptedOut Paused Posted
Printed Published Questioned Ranked Recommended Removed Reset Restarted Restored Resumed
Retrieved Returned Reviewed Rewound Saved Searched Sent Shared Showed Skipped Started
Submitted Subscribed Tagged TimedOut Unmuted Unpublished Unsubscribed Uploaded Used Viewed"""
ACTIONS = frozenset(_ACTIONS_WORDS.split())
_MEDIA_ACTIONS_WORDS = """
Started Ended Paused Resumed Restarted ForwardedTo JumpedTo ChangedResolution ChangedSize
ChangedSpeed ChangedVolume EnabledClosedCaptioning DisabledClosedCaptioning
EnteredFullScreen ExitedFullScreen Muted Unmuted OpenedPopout ClosedPopout"""
MEDIA_ACTIONS = frozenset(_MEDIA_ACTIONS_WORDS.split())


@dataclass(frozen=True)
class EventRule:
    """What one event type allows: its actions and the entity types of its slots.

    `by_action` narrows `actor` and `object` for some actions (a session times out by the
    application, on the session).
    """

    actions: frozenset[str]
    actor: tuple[str, ...] = ("Person",)
    object: tuple[str, ...] = ("Entity",)
    generated: tuple[str, ...] = ("Entity",)
    target: tuple[str, ...] = ("Entity",)
    by_action: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)


def _rule(actions: str, **slots: Any) -> EventRule:
    return EventRule(frozenset(actions.split()), **slots)


EVENT_RULES: dict[str, EventRule] = {
    "Event": EventRule(ACTIONS, actor=("Agent",)),
    "AnnotationEvent": _rule(
        "Bookmarked Highlighted Shared Tagged",
        object=("DigitalResource",),
        generated=("Annotation",),
    ),
    "AssessmentEvent": _rule(
        "Started Paused Resumed Restarted Reset Submitted",
        object=("Assessment",),
        generated=("Attempt",),
    ),
    "AssessmentItemEvent": _rule(
        "Started Skipped Completed",
        object=("AssessmentItem",),
        generated=("Attempt", "Response"),
    ),
    "AssignableEvent": _rule(
        "Activated Deactivated Started Completed Submitted Reviewed",
        actor=("Agent",),
        object=("AssignableDigitalResource",),
        generated=("Attempt",),
    ),
    "FeedbackEvent": _rule("Commented Ranked", generated=("Comment", "Rating")),
    "ForumEvent": _rule("Subscribed Unsubscribed", object=("Forum",)),
    "GradeEvent": _rule(
        "Graded", actor=("Person", "SoftwareApplication"), object=("Attempt",), generated=("Score",)
    ),
    "MediaEvent": EventRule(MEDIA_ACTIONS, object=("MediaObject",), target=("MediaLocation",)),
    "MessageEvent": _rule("Posted MarkedAsRead MarkedAsUnread", object=("Message",)),
    "NavigationEvent": _rule(
        "NavigatedTo",
        object=("DigitalResource", "SoftwareApplication"),
        target=("DigitalResource", "Frame"),
    ),
    "QuestionnaireEvent": _rule("Started Submitted", object=("Questionnaire",)),
    "QuestionnaireItemEvent": _rule(
        "Started Skipped Completed", object=("QuestionnaireItem",), generated=("Response",)
    ),
    "ResourceManagementEvent": _rule(
        "Archived Copied Created Deleted Described Downloaded Modified Printed Published "
        "Restored Retrieved Saved Unpublished Uploaded",
        object=("DigitalResource",),
        generated=("DigitalResource",),
    ),
    "SearchEvent": _rule("Searched", generated=("SearchResponse",)),
    "SessionEvent": _rule(
        "LoggedIn LoggedOut TimedOut",
        actor=("Person", "SoftwareApplication"),
        object=("SoftwareApplication", "Session"),
        by_action={
            "LoggedIn": (("Person",), ("SoftwareApplication",)),
            "LoggedOut": (("Person",), ("SoftwareApplication",)),
            "TimedOut": (("SoftwareApplication",), ("Session",)),
        },
    ),
    "SurveyEvent": _rule("OptedIn OptedOut", object=("Survey",)),
    "SurveyInvitationEvent": _rule("Accepted Declined Sent", object=("SurveyInvitation",)),
    "ThreadEvent": _rule("MarkedAsRead MarkedAsUnread", object=("Thread",)),
    "ToolLaunchEvent": _rule(
        "Launched Returned", object=("SoftwareApplication",), target=("Link", "DigitalResource")
    ),
    "ToolUseEvent": _rule(
        "Used", object=("SoftwareApplication",), generated=("AggregateMeasureCollection",)
    ),
    "ViewEvent": _rule("Viewed", object=("DigitalResource",)),
}

# Slots every event may have, with the entity types they hold.
COMMON_SLOTS: dict[str, tuple[str, ...]] = {
    "edApp": ("SoftwareApplication",),
    "group": ("Organization",),
    "membership": ("Membership",),
    "session": ("Session",),
    "federatedSession": ("LtiSession",),
    "referrer": ("DigitalResource", "SoftwareApplication", "Link"),
}
# Value types: described by their properties, without an `id` of their own.
VALUE_TYPES: dict[str, tuple[str, ...]] = {
    "SystemIdentifier": ("identifier", "identifierType"),
    "TextPositionSelector": ("start", "end"),
}
REQUIRED_EVENT = ("@context", "id", "type", "actor", "action", "object", "eventTime")
REQUIRED_ENVELOPE = ("sensor", "sendTime", "dataVersion", "data")


# Checks. ---------------------------------------------------------------------------------


def _instant(value: object) -> bool:
    if not isinstance(value, str) or not ISO_INSTANT.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _context_ok(value: object) -> bool:
    if isinstance(value, str):
        return value == CONTEXT
    if isinstance(value, list):  # an array: the Caliper context beside local term definitions
        return CONTEXT in value
    return isinstance(value, dict)  # an inline context (JSON-LD allows it; the spec shows one)


def _entity_problems(value: object, where: str, allowed: Iterable[str]) -> list[str]:
    """An entity (an object with `id` and `type`) or its IRI, of one of the `allowed` types."""
    if isinstance(value, str):
        return [] if IRI.match(value) else [f"{where}: {value!r} is not an IRI"]
    if not isinstance(value, dict):
        return [f"{where}: must be an entity or an IRI"]
    problems = []
    entity_id, entity_type = value.get("id"), value.get("type")
    if not isinstance(entity_id, str) or not IRI.match(entity_id):
        problems.append(f"{where}.id: must be an IRI")
    allowed = tuple(allowed)
    if entity_type not in ENTITY_TYPES:
        problems.append(f"{where}.type: {entity_type!r} is not a Caliper 1.2 entity type")
    elif not any(is_a(str(entity_type), a) for a in allowed):
        problems.append(f"{where}.type: {entity_type} is not one of {', '.join(allowed)}")
    return problems


def event_problems(event: Mapping[str, Any]) -> list[str]:
    """Every Caliper 1.2 rule `event` breaks (none: it is valid)."""
    problems = [f"{key}: required" for key in REQUIRED_EVENT if key not in event]
    if "@context" in event and not _context_ok(event["@context"]):
        problems.append(f"@context: must be {CONTEXT}")
    event_id = event.get("id")
    if "id" in event and not (
        isinstance(event_id, str) and event_id.startswith("urn:uuid:") and _uuid(event_id[9:])
    ):
        problems.append("id: must be a urn:uuid: URN")
    if "eventTime" in event and not _instant(event["eventTime"]):
        problems.append("eventTime: must be an ISO 8601 date and time with a time zone")
    rule = EVENT_RULES.get(str(event.get("type")))
    if rule is None:
        problems.append(f"type: {event.get('type')!r} is not a Caliper 1.2 event type")
        return problems
    action = event.get("action")
    if "action" in event and action not in rule.actions:
        problems.append(f"action: {action!r} is not allowed for {event['type']}")
    actor_types, object_types = rule.by_action.get(str(action), (rule.actor, rule.object))
    for slot, allowed in (("actor", actor_types), ("object", object_types)):
        if slot in event:
            problems += _entity_problems(event[slot], slot, allowed)
    for slot, allowed in (("generated", rule.generated), ("target", rule.target)):
        if event.get(slot) is not None:
            problems += _entity_problems(event[slot], slot, allowed)
    for slot, allowed in COMMON_SLOTS.items():
        if event.get(slot) is not None:
            problems += _entity_problems(event[slot], slot, allowed)
    return problems


def _uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise `CaliperValidationError` unless `event` keeps every Caliper 1.2 rule."""
    problems = event_problems(event)
    if problems:
        raise CaliperValidationError(problems)


def validate_entity(entity: Mapping[str, Any]) -> None:
    """An entity (with `id` and a known `type`), or a value such as a `SystemIdentifier`."""
    required = VALUE_TYPES.get(str(entity.get("type")))
    if required is not None:
        problems = [f"{key}: required" for key in required if key not in entity]
    else:
        problems = _entity_problems(dict(entity), "entity", ("Entity",))
    if problems:
        raise CaliperValidationError(problems)


def validate_envelope(envelope: Mapping[str, Any]) -> None:
    """The envelope's own properties, then each event or entity it carries."""
    problems = [f"{key}: required" for key in REQUIRED_ENVELOPE if key not in envelope]
    sensor = envelope.get("sensor")
    if "sensor" in envelope and not (isinstance(sensor, str) and IRI.match(sensor)):
        problems.append("sensor: must be an IRI")
    if "sendTime" in envelope and not _instant(envelope["sendTime"]):
        problems.append("sendTime: must be an ISO 8601 date and time with a time zone")
    if "dataVersion" in envelope and envelope["dataVersion"] != DATA_VERSION:
        problems.append(f"dataVersion: must be {DATA_VERSION}")
    data = envelope.get("data")
    if "data" in envelope and (not isinstance(data, list) or not data):
        problems.append("data: must be a non-empty array")
    for n, item in enumerate(data if isinstance(data, list) else []):
        if isinstance(item, dict) and str(item.get("type", "")) in EVENT_RULES:
            problems += [f"data[{n}].{p}" for p in event_problems(item)]
        else:
            problems += _entity_problems(item, f"data[{n}]", ("Entity",))
    if problems:
        raise CaliperValidationError(problems)
