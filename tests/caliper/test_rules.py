"""The Caliper 1.2 rules: every example of the specification passes; each broken rule is named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from schemas.caliper_rules import (
    EVENT_RULES,
    CaliperValidationError,
    event_problems,
    is_a,
    validate_entity,
    validate_envelope,
    validate_event,
)

FIXTURES = sorted(Path("/work/shared/data/caliper-v1p2/fixtures").glob("caliper*.json"))


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (Path("/work/shared/data/caliper-v1p2/fixtures") / name).read_text()
    )
    return loaded


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_specification_example_is_accepted(path: Path) -> None:
    data = json.loads(path.read_text())
    if "sensor" in data:
        validate_envelope(data)
    elif str(data.get("type")) in EVENT_RULES:
        validate_event(data)
    elif "type" in data:
        validate_entity(data)
    else:  # the endpoint configuration payload: not an event, entity or envelope
        assert path.stem == "caliperEndpointConfigPayload"


def broken(name: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(load(name))
    for key, value in changes.items():
        if value is None:
            del event[key]
        else:
            event[key] = value
    return event


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (
            broken("caliperEventSessionLoggedIn.json", action="Graded"),
            "action: 'Graded' is not allowed for SessionEvent",
        ),
        (
            broken("caliperEventGradeGraded.json", object={"id": "urn:x:1", "type": "Person"}),
            "object.type: Person is not one of Attempt",
        ),
        (
            broken("caliperEventSessionLoggedIn.json", actor={"id": "urn:x:1", "type": "Session"}),
            "actor.type: Session is not one of Person",
        ),
        (
            broken("caliperEventSessionTimedOut.json", actor={"id": "urn:x:1", "type": "Person"}),
            "actor.type: Person is not one of SoftwareApplication",
        ),
        (
            broken("caliperEventViewViewedDocument.json", eventTime="15 Nov 2016"),
            "eventTime: must be an ISO 8601",
        ),
        (broken("caliperEventViewViewedDocument.json", id="12345"), "id: must be a urn:uuid: URN"),
        (
            broken("caliperEventViewViewedDocument.json", type="ReadEvent"),
            "type: 'ReadEvent' is not a Caliper 1.2 event type",
        ),
        (broken("caliperEventViewViewedDocument.json", actor=None), "actor: required"),
        (
            broken("caliperEventViewViewedDocument.json", object={"type": "Document"}),
            "object.id: must be an IRI",
        ),
        (
            broken("caliperEventViewViewedDocument.json", object={"id": "urn:x", "type": "Book"}),
            "object.type: 'Book' is not a Caliper 1.2 entity type",
        ),
        (
            broken(
                "caliperEventViewViewedDocument.json", edApp={"id": "urn:x:1", "type": "Person"}
            ),
            "edApp.type: Person is not one of SoftwareApplication",
        ),
        (
            broken(
                "caliperEventViewViewedDocument.json",
                **{"@context": "http://purl.imsglobal.org/ctx/caliper/v1p1"},
            ),
            "@context: must be",
        ),
        (
            broken(
                "caliperEventAssessmentSubmitted.json", generated={"id": "urn:x:1", "type": "Score"}
            ),
            "generated.type: Score is not one of Attempt",
        ),
        (
            broken(
                "caliperEventToolLaunchLaunched.json",
                federatedSession={"id": "urn:x:1", "type": "Session"},
            ),
            "federatedSession.type: Session is not one of LtiSession",
        ),
    ],
)
def test_a_broken_rule_is_named(event: dict[str, Any], problem: str) -> None:
    with pytest.raises(CaliperValidationError) as raised:
        validate_event(event)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_an_envelope_checks_its_own_properties_and_each_event() -> None:
    envelope = load("caliperEnvelopeEventBatch.json")
    validate_envelope(envelope)
    envelope["dataVersion"] = "1.1"
    envelope["data"][1]["action"] = "Viewed"
    del envelope["sensor"]
    with pytest.raises(CaliperValidationError) as raised:
        validate_envelope(envelope)
    assert raised.value.problems == [
        "sensor: required",
        "dataVersion: must be http://purl.imsglobal.org/ctx/caliper/v1p2",
        "data[1].action: 'Viewed' is not allowed for AnnotationEvent",
    ]
    with pytest.raises(CaliperValidationError, match="data: must be a non-empty array"):
        validate_envelope({**load("caliperEnvelopeEventSingle.json"), "data": []})


def test_subtypes_count_as_their_parents() -> None:
    assert is_a("Assessment", "AssignableDigitalResource")
    assert is_a("CourseSection", "Organization")
    assert is_a("LtiSession", "Session")
    assert not is_a("Session", "LtiSession")
    assert not is_a("Person", "DigitalResource")
    assert event_problems(load("caliperEventAssignableActivated.json")) == []
