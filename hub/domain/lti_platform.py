"""The hub as LTI platform: tool registrations, resource links, launches, access grants,
line items and scores.

Each hot path records one event: a launch (`LtiLaunch.Accepted`, single use of the hint
the hub issued), a token (`LtiAccessGrant.Issued`, single use of the assertion's `jti`),
a score (`LtiResult.ScorePosted`, carrying everything a gradebook or a passback needs).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from hub.domain.base import HubAggregate, aggregate_id


def registration_id(tenant: str, client_id: str) -> str:
    return aggregate_id(tenant, "LtiToolRegistration", client_id)


def resource_link_id(tenant: str, link_id: str) -> str:
    return aggregate_id(tenant, "LtiResourceLink", link_id)


def launch_id(tenant: str, hint_id: str) -> str:
    return aggregate_id(tenant, "LtiLaunch", hint_id)


def grant_id(tenant: str, client_id: str, jti: str) -> str:
    return aggregate_id(tenant, "LtiAccessGrant", client_id, jti)


def gradebook_id(tenant: str, client_id: str, context_id: str) -> str:
    return aggregate_id(tenant, "LtiGradebook", client_id, context_id)


def result_id(tenant: str, line_item_id: str, user_id: str) -> str:
    return aggregate_id(tenant, "LtiResult", line_item_id, user_id)


class LtiToolRegistration(HubAggregate):
    """An external tool the tenant launches: where it logs in, its keys, what it may do."""

    @staticmethod
    def create_id(tenant: str, client_id: str, **_: object) -> str:
        return registration_id(tenant, client_id)

    @event("Registered")
    def __init__(self, tenant: str, client_id: str, settings: dict[str, Any]) -> None:
        self.client_id = client_id
        self.settings = settings

    @event("Updated")
    def update(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        return str(self.settings["name"])

    @property
    def deployment_ids(self) -> list[str]:
        return list(self.settings["deployment_ids"])

    @property
    def scopes(self) -> list[str]:
        return list(self.settings["scopes"])


class LtiResourceLink(HubAggregate):
    """A tool placed in a context (a Spark quest): what a learner launches."""

    @staticmethod
    def create_id(tenant: str, link_id: str, **_: object) -> str:
        return resource_link_id(tenant, link_id)

    @event("Created")
    def __init__(
        self,
        tenant: str,
        link_id: str,
        client_id: str,
        deployment_id: str,
        context_id: str,
        kind: str,
        title: str,
        url: str | None,
        custom: dict[str, str],
        line_item_id: str | None,
        source: str,
    ) -> None:
        self.link_id = link_id
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.context_id = context_id
        self.kind = kind  # "ltiResourceLink" or "link"
        self.title = title
        self.url = url
        self.custom = custom
        self.line_item_id = line_item_id


class LtiLaunch(HubAggregate):
    """A launch the hub accepted: exists once its hint was used, so a replay conflicts.

    The event stands alone as the launch's record: who, which tool and link, the
    claims sent (without the signature), and hashes of the tool's state and nonce.
    """

    @staticmethod
    def create_id(tenant: str, hint_id: str, **_: object) -> str:
        return launch_id(tenant, hint_id)

    @event("Accepted")
    def __init__(
        self,
        tenant: str,
        hint_id: str,
        client_id: str,
        deployment_id: str,
        message_type: str,
        user_id: str,
        link_id: str | None,
        context_id: str | None,
        claims: dict[str, Any],
        state_sha256: str,
        nonce_sha256: str,
    ) -> None:
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.message_type = message_type
        self.context_id = context_id
        self.deep_linked: list[str] = []

    @event("DeepLinked")
    def deep_link(self, link_ids: list[str], items: list[dict[str, Any]]) -> None:
        self.deep_linked = link_ids


class LtiAccessGrant(HubAggregate):
    """An access token issued for a client assertion; its `jti` is single use."""

    @staticmethod
    def create_id(tenant: str, client_id: str, jti: str, **_: object) -> str:
        return grant_id(tenant, client_id, jti)

    @event("Issued")
    def __init__(
        self,
        tenant: str,
        client_id: str,
        jti: str,
        scopes: list[str],
        expires_at: int,
        assertion_sha256: str,
        kid: str | None,
    ) -> None:
        self.client_id = client_id
        self.scopes = scopes
        self.expires_at = expires_at


class LtiGradebook(HubAggregate):
    """The line items one tool keeps in one context; `items` maps id -> the line item."""

    @staticmethod
    def create_id(tenant: str, client_id: str, context_id: str, **_: object) -> str:
        return gradebook_id(tenant, client_id, context_id)

    @event("Opened")
    def __init__(self, tenant: str, client_id: str, context_id: str) -> None:
        self.client_id = client_id
        self.context_id = context_id
        self.items: dict[str, dict[str, Any]] = {}

    @event("LineItemCreated")
    def create_line_item(self, line_item_id: str, item: dict[str, Any], source: str) -> None:
        self.items[line_item_id] = item

    @event("LineItemUpdated")
    def update_line_item(self, line_item_id: str, item: dict[str, Any]) -> None:
        self.items[line_item_id] = item

    @event("LineItemDeleted")
    def delete_line_item(self, line_item_id: str) -> None:
        del self.items[line_item_id]


class LtiResult(HubAggregate):
    """The score of one user on one line item; only a newer `timestamp` changes it."""

    @staticmethod
    def create_id(tenant: str, line_item_id: str, user_id: str, **_: object) -> str:
        return result_id(tenant, line_item_id, user_id)

    @event("ScorePosted")
    def __init__(self, tenant: str, line_item_id: str, user_id: str, score: dict[str, Any]) -> None:
        self.timestamp = str(score["timestamp"])
        self.score = score

    @event("ScoreUpdated")
    def post(self, score: dict[str, Any]) -> None:
        self.timestamp = str(score["timestamp"])
        self.score = score
