"""The AsyncAPI document of the Caliper stream: valid JSON, every channel, and kept in docs/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from hub.caliper.asyncapi import caliper_asyncapi
from hub.caliper.settings import EVENT_TYPES

DOC = Path(__file__).parents[2] / "docs" / "caliper-asyncapi.json"


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_document_describes_one_channel_per_event_type_with_the_envelope() -> None:
    document = caliper_asyncapi("acad")
    assert document["asyncapi"] == "3.0.0"
    addresses = sorted(c["address"] for c in document["channels"].values())
    assert addresses == sorted(f"acad.caliper.{{tenant}}.{t}" for t in EVENT_TYPES)
    for channel in document["channels"].values():
        declared = set(re.findall(r"{(\w+)}", channel["address"]))
        assert declared == set(channel["parameters"]) == {"tenant"}
        for message in channel["messages"].values():
            payload = resolve(document, message["$ref"])["payload"]
            envelope = resolve(document, payload["$ref"])
            assert set(envelope["required"]) == {"sensor", "sendTime", "data"}
    for operation in document["operations"].values():
        assert operation["action"] == "send"
        resolve(document, operation["channel"]["$ref"])


def test_the_committed_document_is_the_generated_one() -> None:
    committed = json.loads(DOC.read_text())
    assert committed == caliper_asyncapi()
