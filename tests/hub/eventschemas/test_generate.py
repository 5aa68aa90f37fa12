"""One JSON Schema per event type, valid 2020-12, and the committed files are the generated ones."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from hub.cli.schemas import ASYNCAPI_FILE, EVENTS_FOLDER, asyncapi_text
from hub.domain.submissions import Submission
from hub.eventschemas.catalog import event_classes
from hub.eventschemas.generate import all_schemas, rendered, write_schemas

ROOT = Path(__file__).parents[3]


def test_every_recorded_event_class_has_a_valid_schema() -> None:
    schemas = all_schemas()
    assert set(schemas) == set(event_classes())
    assert {"Submission.Received", "Learner.Registered", "SsoToken.Accepted"} <= set(schemas)
    assert not any(
        name.endswith((".Event", ".Created"))
        and name != "LtiKeyRing.Created"
        and name != "LtiResourceLink.Created"
        for name in schemas
    )
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)


def test_a_schema_lists_the_fields_the_event_class_declares() -> None:
    schema = all_schemas()["Submission.Received"]
    assert schema["title"] == "Submission.Received"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {
        "timestamp", "context", "originator_topic", "tenant", "source", "learner_key",
        "assignment_key", "submitted_at", "course_key", "text", "files", "grade", "verified",
    }  # fmt: skip
    assert schema["properties"]["grade"]["anyOf"] == [{"type": "number"}, {"type": "null"}]
    assert schema["properties"]["timestamp"] == {
        "format": "date-time",
        "title": "Timestamp",
        "type": "string",
    }
    assert Submission.Received.__qualname__ == "Submission.Received"


def test_the_committed_files_are_the_generated_ones() -> None:
    folder = ROOT / EVENTS_FOLDER
    committed = {path.name: path.read_text() for path in folder.glob("*.json")}
    assert committed == rendered(all_schemas()), "run `hub schemas write` and commit"
    assert (ROOT / ASYNCAPI_FILE).read_text() == asyncapi_text(), "run `hub schemas write`"


def test_writing_removes_the_schema_of_a_type_that_is_gone(tmp_path: Path) -> None:
    (tmp_path / "Gone.Away.json").write_text("{}")
    changed = write_schemas(tmp_path)
    assert "Gone.Away.json" in changed
    assert not (tmp_path / "Gone.Away.json").exists()
    index = json.loads((tmp_path / "index.json").read_text())
    assert [entry["type"] for entry in index["event_types"]] == sorted(all_schemas())
    assert write_schemas(tmp_path) == []


def test_an_aggregate_a_test_defines_is_not_one_of_the_hubs_event_types() -> None:
    from tests.projections.helpers import Probe  # noqa: PLC0415 - imported for this test

    probe_types = {name for name in event_classes() if name.startswith(f"{Probe.__name__}.")}
    assert probe_types == set()
    assert "Submission.Received" in event_classes()
