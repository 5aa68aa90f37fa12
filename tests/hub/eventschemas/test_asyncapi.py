"""The NATS subjects' AsyncAPI document: inbound, domain events and Caliper, every $ref resolves."""

from __future__ import annotations

import re
from typing import Any

from hub.caliper.settings import EVENT_TYPES as CALIPER_TYPES
from hub.eventschemas.asyncapi import hub_asyncapi
from hub.eventschemas.generate import all_schemas
from schemas.spark import RosterWebhook, SubmissionWebhook


def resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def test_every_reference_resolves_and_every_address_parameter_is_declared() -> None:
    document = hub_asyncapi("acad")
    assert document["asyncapi"] == "3.0.0"
    for ref in refs(document):
        resolve(document, ref)
    for channel in document["channels"].values():
        assert set(re.findall(r"{(\w+)}", channel["address"])) == set(channel["parameters"])


def test_the_inbound_channels_carry_the_spark_bodies_with_the_signature_header() -> None:
    document = hub_asyncapi("acad")
    inbound = {
        c["address"]: c for c in document["channels"].values() if ".inbound." in c["address"]
    }
    assert set(inbound) == {
        "acad.inbound.{tenant}.spark.submission",
        "acad.inbound.{tenant}.spark.roster",
    }
    models = {"submission": SubmissionWebhook, "roster": RosterWebhook}
    for address, channel in inbound.items():
        (message_ref,) = [m["$ref"] for m in channel["messages"].values()]
        message = resolve(document, message_ref)
        assert message["headers"]["required"] == ["X-Spark-Signature"]
        payload = resolve(document, message["payload"]["$ref"])
        model = models[address.rsplit(".", 1)[-1]]
        assert payload["title"] == model.__name__
        assert set(payload["required"]) == set(model.model_json_schema()["required"])


def test_each_event_type_is_a_message_whose_payload_is_its_schema() -> None:
    document = hub_asyncapi("acad")
    schemas = all_schemas()
    seen = {}
    for channel in document["channels"].values():
        if ".ev." not in channel["address"]:
            continue
        aggregate = channel["address"].split(".")[4]
        for name, message_ref in channel["messages"].items():
            assert name.startswith(f"{aggregate}.")
            message = resolve(document, message_ref["$ref"])
            seen[name] = resolve(document, message["payload"]["$ref"])
    assert set(seen) == set(schemas)
    for name, payload in seen.items():
        assert payload["properties"] == schemas[name]["properties"]


def test_the_caliper_channels_are_included() -> None:
    addresses = {c["address"] for c in hub_asyncapi("acad")["channels"].values()}
    assert {f"acad.caliper.{{tenant}}.{t}" for t in CALIPER_TYPES} <= addresses
