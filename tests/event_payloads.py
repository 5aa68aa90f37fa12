"""Check the events a test stored against the JSON Schema of their type (`hub.eventschemas`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator

from hub.eventschemas.catalog import PACKAGES
from hub.eventschemas.generate import all_schemas
from hub.replay import ReplayFilter, replay, to_json_line
from infra.nats_client import NatsConnection


@cache
def validators() -> dict[str, Draft202012Validator]:
    return {name: Draft202012Validator(schema) for name, schema in all_schemas().items()}


@dataclass
class Checked:
    """How many events were checked, per type, and what did not conform."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    skipped: int = 0


def is_recorded_by_the_hub(topic: str) -> bool:
    """False for what only tests write: their own aggregates, the bare base `Event`."""
    module, _, event_type = topic.partition(":")
    return (
        module.startswith(tuple(f"{name}." for name in PACKAGES))
        and event_type.rsplit(".", 1)[-1] != "Event"
    )


def payload(record: dict[str, Any]) -> Any:
    """The event's payload as JSON carries it (what `hub replay` prints as `data`)."""
    return json.loads(to_json_line(record))["data"]


def check_stored_events(nats_url: str, prefix: str, checked: Checked | None = None) -> Checked:
    checked = checked or Checked()
    connection = NatsConnection.shared(nats_url)
    for record in replay(connection, prefix, ReplayFilter()):
        if not is_recorded_by_the_hub(record["topic"]):
            checked.skipped += 1
            continue
        event_type = record["event_type"]
        checked.counts[event_type] = checked.counts.get(event_type, 0) + 1
        validator = validators().get(event_type)
        if validator is None:
            checked.problems.append(f"{event_type}: no JSON Schema for this event type")
            continue
        for error in validator.iter_errors(payload(record)):
            where = "/".join(map(str, error.absolute_path)) or "(payload)"
            checked.problems.append(f"{event_type} at {where}: {error.message}")
    return checked
