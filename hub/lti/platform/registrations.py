"""Command handlers for what an admin (or a Deep Linking response) sets up: tools, links,
line items; and the reads the other handlers share.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from hub.application import Hub
from hub.domain.base import HubAggregate
from hub.domain.lti_platform import (
    LtiGradebook,
    LtiResourceLink,
    LtiToolRegistration,
    gradebook_id,
    registration_id,
    resource_link_id,
)
from hub.domain.quests import Quest, Task, task_id
from hub.lti.platform.errors import LtiRejectedError
from schemas.lti import LineItemIn, ResourceLinkIn, ToolRegistrationIn

A = TypeVar("A", bound=HubAggregate)


class ToolExistsError(Exception):
    """Raised when a tool is registered again with a client_id the tenant already has."""


@dataclass(frozen=True)
class ToolContext:
    """Where a service call acts: one tool (the access token's client) in one context."""

    tenant: str
    client_id: str
    context_id: str


@dataclass(frozen=True)
class Created:
    id: str
    position: int


def get(hub: Hub, aggregate_id: str, _: type[A]) -> A | None:
    try:
        found: A = hub.repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None
    return found


def registration(hub: Hub, tenant: str, client_id: str) -> LtiToolRegistration:
    found = get(hub, registration_id(tenant, client_id), LtiToolRegistration)
    if found is None:
        raise LtiRejectedError("registration_unknown", f"no tool has client_id {client_id!r}")
    return found


def check_deployment(tool: LtiToolRegistration, deployment_id: str) -> None:
    if deployment_id not in tool.deployment_ids:
        raise LtiRejectedError(
            "deployment_unknown",
            f"deployment {deployment_id!r} is not one of {tool.client_id!r}'s",
        )


def context_quest(hub: Hub, tenant: str, context_id: str) -> Quest:
    """The quest an LTI context id names (the hex of the quest's aggregate id)."""
    found = get(hub, f"{tenant}.Quest.{context_id}", Quest) if len(context_id) == 32 else None
    if found is None:
        raise LtiRejectedError("context_unknown", f"no context {context_id[:64]!r}")
    return found


def register_tool(hub: Hub, tenant: str, data: ToolRegistrationIn) -> Created:
    client_id = data.client_id or uuid.uuid4().hex
    settings = data.model_dump(mode="json", exclude={"client_id"})
    tool = LtiToolRegistration(tenant, client_id, settings)
    try:
        recordings = hub.save(tool)
    except IntegrityError as error:
        msg = f"a tool with client_id {client_id!r} is already registered"
        raise ToolExistsError(msg) from error
    return Created(client_id, recordings[-1].notification.id)


def update_tool(hub: Hub, tenant: str, client_id: str, data: ToolRegistrationIn) -> Created:
    """Record `Updated` with the tool's new settings (a removed deployment launches no more);
    the same settings record nothing (`position` 0)."""
    if data.client_id not in {None, client_id}:
        raise LtiRejectedError("request_invalid", "a tool's client_id cannot change")
    tool = registration(hub, tenant, client_id)
    settings = data.model_dump(mode="json", exclude={"client_id"})
    if settings == tool.settings:
        return Created(client_id, 0)
    tool.update(settings)
    recordings = hub.save(tool)
    return Created(client_id, recordings[-1].notification.id)


def line_item_record(
    hub: Hub, tenant: str, item: LineItemIn, line_item_id: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The line item as the gradebook keeps it, with the Spark assignment its resourceId names."""
    new_id = line_item_id or uuid.uuid4().hex
    record = item.model_dump(mode="json", exclude_none=True)
    record["id"] = new_id
    if item.resourceId and get(hub, task_id(tenant, "spark", item.resourceId), Task) is not None:
        record["spark_assignment_id"] = item.resourceId
    return new_id, record


def open_gradebook(hub: Hub, tenant: str, client_id: str, context_id: str) -> LtiGradebook:
    """The tool's gradebook in the context, opened when its first link is placed there."""
    found = get(hub, gradebook_id(tenant, client_id, context_id), LtiGradebook)
    return found or LtiGradebook(tenant, client_id, context_id)


def placed_gradebook(hub: Hub, at: ToolContext) -> LtiGradebook:
    """The gradebook of a context where the tool has a link: its services see no other."""
    found = get(hub, gradebook_id(at.tenant, at.client_id, at.context_id), LtiGradebook)
    if found is None:
        raise LtiRejectedError(
            "context_unknown", f"the tool has no link in a context {at.context_id[:64]!r}"
        )
    return found


def create_link(
    hub: Hub, tenant: str, data: ResourceLinkIn, *, source: str, kind: str = "ltiResourceLink"
) -> Created:
    """A resource link (and its line item, in the same commit, when it is graded)."""
    tool = registration(hub, tenant, data.client_id)
    check_deployment(tool, data.deployment_id)
    context_quest(hub, tenant, data.context_id)
    link_id = secrets.token_hex(16)
    book = open_gradebook(hub, tenant, data.client_id, data.context_id)
    pending: list[HubAggregate] = [book] if book.version == 1 else []
    line_item_id = None
    if data.line_item is not None:
        item = data.line_item.model_copy(update={"resourceLinkId": link_id})
        line_item_id, record = line_item_record(hub, tenant, item)
        book.create_line_item(line_item_id, record, source)
        pending = [book]
    link = LtiResourceLink(
        tenant,
        link_id,
        data.client_id,
        data.deployment_id,
        data.context_id,
        kind,
        data.title,
        str(data.url) if data.url else None,
        dict(data.custom),
        line_item_id,
        source,
    )
    recordings = hub.save(link, *pending)
    return Created(link_id, recordings[-1].notification.id)


def resource_link(hub: Hub, tenant: str, link_id: str) -> LtiResourceLink:
    found = get(hub, resource_link_id(tenant, link_id), LtiResourceLink)
    if found is None:
        raise LtiRejectedError("link_unknown", f"no resource link {link_id[:64]!r}")
    return found
